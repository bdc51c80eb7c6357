package io.qwenserve.client;

import io.grpc.StatusRuntimeException;
import io.qwenserve.proto.v1.ChatRequest;
import io.qwenserve.proto.v1.GenerateResponse;
import io.qwenserve.proto.v1.Message;
import io.qwenserve.proto.v1.SamplingParams;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.function.Function;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code bin/qwen client chat}: a streaming chat with history over gRPC (or Kafka with {@code --kafka}), like the
 * seed's cli_demo.py ({@code :clear} resets the history, {@code :exit} quits). {@code --message} sends one message and
 * exits.
 */
@Command(name = "chat", description = "Streaming chat with a running service over gRPC or Kafka.")
final class ChatClientCommand implements Callable<Integer> {
    @Option(names = "--url", defaultValue = "localhost:8080", description = "Service address (host:port, http:// or https://).")
    String url;

    @Option(names = "--kafka", paramLabel = "BOOTSTRAP", description = "Chat over Kafka through this broker instead of gRPC.")
    String kafka;

    @Option(names = "--api-key", description = "API key (sent as authorization: Bearer <key>).")
    String apiKey;

    @Option(names = "--system", description = "System message.")
    String system;

    @Option(names = "--message", description = "Send one message, print the streamed answer and exit.")
    String message;

    @Option(names = "--adapter", description = "A LoRA adapter the service serves, by name (ListModels lists them).")
    String adapter;

    @Option(names = "--max-tokens", defaultValue = "256") int maxTokens;
    @Option(names = "--temperature") Double temperature;
    @Option(names = "--seed") Long seed;

    @Override
    public Integer call() throws Exception {
        if (kafka != null) {
            try (KafkaChatClient client = new KafkaChatClient(kafka)) {
                return chat(client::chat, "Kafka at " + kafka);
            }
        }
        try (GrpcChatClient client = new GrpcChatClient(url, apiKey)) {
            return chat(client::chat, url + " over gRPC");
        }
    }

    private int chat(Function<ChatRequest, Iterator<GenerateResponse>> client, String where) throws Exception {
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        List<Message> history = new ArrayList<>();
        if (message != null) {
            return turn(client, history, message, out) ? 0 : 1;
        }
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        out.println("Chat with " + where + ". :clear resets the history, :exit quits.");
        while (true) {
            out.print("\nUser> ");
            out.flush();
            String line = in.readLine();
            if (line == null || line.strip().equals(":exit")) {
                return 0;
            }
            if (line.strip().equals(":clear")) {
                history.clear();
                out.println("(history cleared)");
            } else if (!line.isBlank()) {
                turn(client, history, line, out);
            }
        }
    }

    private boolean turn(Function<ChatRequest, Iterator<GenerateResponse>> client, List<Message> history, String user, PrintStream out) {
        ChatRequest.Builder req = ChatRequest.newBuilder();
        if (system != null) {
            req.addMessages(Message.newBuilder().setRole("system").setContent(system));
        }
        req.addAllMessages(history).addMessages(Message.newBuilder().setRole("user").setContent(user));
        SamplingParams.Builder sp = SamplingParams.newBuilder().setMaxTokens(maxTokens);
        if (temperature != null) {
            sp.setTemperature(temperature);
        }
        if (seed != null) {
            sp.setSeed(seed);
        }
        req.setSampling(sp);
        if (adapter != null) {
            req.setAdapter(adapter);
        }
        StringBuilder answer = new StringBuilder();
        out.print("Qwen> ");
        try {
            for (Iterator<GenerateResponse> it = client.apply(req.build()); it.hasNext(); ) {
                GenerateResponse r = it.next();
                if (r.hasChunk()) {
                    out.print(r.getChunk().getText());
                    out.flush();
                    answer.append(r.getChunk().getText());
                } else if (r.hasFinal()) {
                    out.printf("%n[%s, %d prompt + %d completion tokens, first token %.0f ms, %.1f tokens/s]%n",
                            r.getFinal().getFinishReason().name().replace("FINISH_REASON_", "").toLowerCase(),
                            r.getFinal().getUsage().getPromptTokens(), r.getFinal().getUsage().getCompletionTokens(),
                            r.getFinal().getTimings().getTtftMs(), r.getFinal().getUsage().getCompletionTokens()
                                    / Math.max(1e-9, r.getFinal().getTimings().getDecodeMs() / 1000.0));
                } else if (r.hasError()) {
                    out.printf("%n[error %s: %s]%n", r.getError().getCode(), r.getError().getMessage());
                    return false;
                }
            }
        } catch (StatusRuntimeException e) {
            out.printf("%n[error %s]%n", e.getStatus());
            return false;
        }
        history.add(Message.newBuilder().setRole("user").setContent(user).build());
        history.add(Message.newBuilder().setRole("assistant").setContent(answer.toString()).build());
        return true;
    }
}
