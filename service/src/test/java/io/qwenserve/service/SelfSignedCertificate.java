package io.qwenserve.service;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * A self-signed certificate for localhost / 127.0.0.1, made with the JDK's keytool: the key store (PKCS12) a server
 * presents, the certificate (PEM) a client trusts, and a client {@link SSLContext} trusting it.
 */
public final class SelfSignedCertificate {
    public static final String PASSWORD = "changeit";

    public final Path keyStore;
    public final Path certificate;

    private SelfSignedCertificate(Path keyStore, Path certificate) {
        this.keyStore = keyStore;
        this.certificate = certificate;
    }

    public static SelfSignedCertificate create(Path dir) throws Exception {
        Files.createDirectories(dir);
        Path p12 = dir.resolve("server.p12");
        Path pem = dir.resolve("server.pem");
        Files.deleteIfExists(p12);
        keytool("-genkeypair", "-alias", "qwen", "-keyalg", "RSA", "-keysize", "2048", "-validity", "2", "-dname", "CN=localhost",
                "-ext", "SAN=dns:localhost,ip:127.0.0.1", "-keystore", p12.toString(), "-storetype", "PKCS12", "-storepass", PASSWORD,
                "-keypass", PASSWORD);
        keytool("-exportcert", "-rfc", "-alias", "qwen", "-keystore", p12.toString(), "-storepass", PASSWORD, "-file", pem.toString());
        return new SelfSignedCertificate(p12, pem);
    }

    private static void keytool(String... args) throws Exception {
        List<String> cmd = new java.util.ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "keytool").toString()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException("keytool " + String.join(" ", args) + ": " + out);
        }
    }

    /** A client context that trusts this certificate (and nothing else). */
    public SSLContext clientContext() throws Exception {
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        try (InputStream in = Files.newInputStream(certificate)) {
            Certificate cert = CertificateFactory.getInstance("X.509").generateCertificate(in);
            trust.setCertificateEntry("qwen", cert);
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, tmf.getTrustManagers(), null);
        return ctx;
    }
}
