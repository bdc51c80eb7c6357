package io.qwenserve.loadtest;

import java.util.List;
import java.util.Locale;

/** Minimal SVG line/scatter charts with axes and ticks. */
final class Svg {
    private static final int W = 460;
    private static final int H = 300;
    private static final int L = 60;
    private static final int R = 15;
    private static final int T = 30;
    private static final int B = 45;
    private static final String[] COLORS = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd"};

    private Svg() {}

    /** @param series each a list of (x, y); {@code lines} joins points, otherwise draws dots */
    static String chart(String title, String xLabel, String yLabel, List<List<double[]>> series, boolean lines) {
        double xMin = Double.MAX_VALUE, xMax = -Double.MAX_VALUE, yMax = 0;
        for (List<double[]> s : series) {
            for (double[] p : s) {
                xMin = Math.min(xMin, p[0]);
                xMax = Math.max(xMax, p[0]);
                yMax = Math.max(yMax, p[1]);
            }
        }
        if (xMin == Double.MAX_VALUE) {
            xMin = 0;
            xMax = 1;
        }
        xMin = Math.min(0, xMin);
        if (xMax <= xMin) {
            xMax = xMin + 1;
        }
        if (yMax <= 0) {
            yMax = 1;
        }
        StringBuilder s = new StringBuilder();
        s.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-size=\"11\">", W, H));
        s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"18\" font-size=\"13\" font-weight=\"bold\">%s</text>", L, Report.esc(title)));
        int pw = W - L - R;
        int ph = H - T - B;
        s.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#999\"/>", L, T, pw, ph));
        for (int i = 0; i <= 4; i++) {
            double xv = xMin + (xMax - xMin) * i / 4;
            double yv = yMax * i / 4;
            int x = L + pw * i / 4;
            int y = T + ph - ph * i / 4;
            s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s</text>", x, T + ph + 14, num(xv)));
            s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>", L - 4, y + 4, num(yv)));
            s.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#eee\"/>", L, y, L + pw, y));
        }
        s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s</text>", L + pw / 2, H - 8, Report.esc(xLabel)));
        s.append(String.format(Locale.ROOT, "<text x=\"12\" y=\"%d\" transform=\"rotate(-90 12 %d)\" text-anchor=\"middle\">%s</text>",
                T + ph / 2, T + ph / 2, Report.esc(yLabel)));
        for (int k = 0; k < series.size(); k++) {
            String color = COLORS[k % COLORS.length];
            StringBuilder path = new StringBuilder();
            for (double[] p : series.get(k)) {
                double x = L + pw * (p[0] - xMin) / (xMax - xMin);
                double y = T + ph - ph * p[1] / yMax;
                if (lines) {
                    path.append(path.length() == 0 ? "M" : "L").append(String.format(Locale.ROOT, "%.1f %.1f ", x, y));
                } else {
                    s.append(String.format(Locale.ROOT, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>", x, y, color));
                }
            }
            if (lines && path.length() > 0) {
                s.append("<path d=\"").append(path).append("\" fill=\"none\" stroke=\"").append(color).append("\" stroke-width=\"1.5\"/>");
            }
        }
        return s.append("</svg>").toString();
    }

    private static String num(double v) {
        if (Math.abs(v) >= 100 || v == Math.rint(v)) {
            return String.format(Locale.ROOT, "%.0f", v);
        }
        return String.format(Locale.ROOT, "%.2f", v);
    }
}
