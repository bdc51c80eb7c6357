package io.qwenserve.loadtest;

/** Opens the {@code --target} a run asked for. */
final class Targets {
    private Targets() {}

    static LoadTarget open(String name, String url, String bootstrap, String apiKey) {
        return switch (name) {
            case "grpc" -> new GrpcTarget(url, apiKey);
            case "http" -> new HttpTarget(url, apiKey);
            case "kafka" -> new KafkaTarget(bootstrap);
            default -> throw new IllegalArgumentException("unknown --target '" + name + "' (grpc, kafka or http)");
        };
    }
}
