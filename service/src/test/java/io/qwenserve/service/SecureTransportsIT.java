package io.qwenserve.service;

import static org.junit.jupiter.api.Assertions.*;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.qwenserve.client.KafkaChatClient;
import io.qwenserve.kafka.LocalKafka;
import io.qwenserve.proto.v1.GenerateResponse;
import io.qwenserve.proto.v1.InferenceServiceGrpc;
import io.qwenserve.service.security.ApiKeys;
import java.net.ConnectException;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.junit.jupiter.api.Test;

/**
 * The documented secure setup, once, with a self-signed certificate: gRPC and HTTP over TLS on one port (the plain
 * port closed, API keys on), and the service's Kafka clients over SASL_SSL (SASL/PLAIN) to a test broker that
 * refuses a wrong password.
 */
class SecureTransportsIT {
    private static final long PID = ProcessHandle.current().pid();

    @Test
    void grpcAndHttpOverTlsAndKafkaOverSaslSsl() throws Exception {
        Path dir = Path.of("target", "secure-" + PID);
        SelfSignedCertificate cert = SelfSignedCertificate.create(dir.resolve("tls"));
        Path home = Path.of(System.getProperty("qwen.kafka.broker.home", "../deploy/kafka-broker/target"));
        LocalKafka broker = LocalKafka.start(home, dir.resolve("kafka"), 0, OptionalLong.of(PID),
                new LocalKafka.SaslSsl(cert.keyStore, SelfSignedCertificate.PASSWORD, Map.of("qwen", "qwen-secret")));
        try {
            String sasl = broker.saslBootstrap();
            Map<String, Object> kafkaSecurity = saslSsl(cert, "qwen-secret");
            int plainPort = ServiceProcess.freePort();
            Map<String, String> props = new HashMap<>(Map.of("quarkus.http.ssl-port", Integer.toString(ServiceProcess.freePort()),
                    "quarkus.http.port", Integer.toString(plainPort), "quarkus.http.insecure-requests", "disabled",
                    "quarkus.tls.key-store.p12.path", cert.keyStore.toAbsolutePath().toString(),
                    "quarkus.tls.key-store.p12.password", SelfSignedCertificate.PASSWORD, "qwen.api-keys", "tls-key",
                    "qwen.kafka.enabled", "true", "kafka.bootstrap.servers", sasl));
            kafkaSecurity.forEach((k, v) -> props.put("kafka." + k, v.toString()));
            try (ServiceProcess service = ServiceProcess.start("secure-service", props, cert.clientContext())) {
                grpcOverTls(service.port, cert);
                httpOverTls(service.port, cert);
                assertThrows(ConnectException.class, () -> new Socket("localhost", plainPort).close(), "no plain-text port");

                Await.until(Duration.ofSeconds(90), "the service's Kafka clients reach the broker over SASL_SSL",
                        () -> service.status("/q/health/group/kafka") == 200);
                try (KafkaChatClient kafka = new KafkaChatClient(sasl, KafkaChatClient.Options.defaults(), kafkaSecurity)) {
                    List<GenerateResponse> rs = kafka.chat(GrpcTestClient.chat("over-sasl-ssl", "hi", 4)).collect(Duration.ofSeconds(90));
                    assertTrue(rs.get(rs.size() - 1).hasFinal(), rs.toString());
                }
                try (Admin wrong = Admin.create(withBootstrap(saslSsl(cert, "not-the-password"), sasl))) {
                    ExecutionException e = assertThrows(ExecutionException.class,
                            () -> wrong.describeCluster().clusterId().get(60, TimeUnit.SECONDS));
                    assertInstanceOf(SaslAuthenticationException.class, e.getCause(), "a wrong password is refused");
                }
                assertFalse(service.logText().contains(ApiKeys.OPEN_WARNING), "keys are set: no warning");
            }
        } finally {
            broker.stop();
        }
    }

    private static void grpcOverTls(int port, SelfSignedCertificate cert) throws Exception {
        ManagedChannel channel = NettyChannelBuilder.forAddress("localhost", port)
                .sslContext(GrpcSslContexts.forClient().trustManager(cert.certificate.toFile()).build()).build();
        try {
            var stub = InferenceServiceGrpc.newBlockingStub(channel);
            StatusRuntimeException noKey = assertThrows(StatusRuntimeException.class,
                    () -> GrpcTestClient.collect(stub.chat(GrpcTestClient.chat("tls-no-key", "hi", 2))));
            assertEquals(Status.Code.UNAUTHENTICATED, noKey.getStatus().getCode());
            io.grpc.Metadata md = new io.grpc.Metadata();
            md.put(io.grpc.Metadata.Key.of("authorization", io.grpc.Metadata.ASCII_STRING_MARSHALLER), "Bearer tls-key");
            List<GenerateResponse> rs = GrpcTestClient.collect(stub.withInterceptors(io.grpc.stub.MetadataUtils
                    .newAttachHeadersInterceptor(md)).chat(GrpcTestClient.chat("tls-grpc", "hi", 4)));
            assertTrue(rs.get(rs.size() - 1).hasFinal(), "gRPC over TLS");
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    private static void httpOverTls(int port, SelfSignedCertificate cert) throws Exception {
        HttpClient http = HttpClient.newBuilder().sslContext(cert.clientContext()).build();
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("https://localhost:" + port + "/v1/chat/completions"))
                .header("Content-Type", "application/json").header("Authorization", "Bearer tls-key")
                .POST(HttpRequest.BodyPublishers.ofString("{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"max_tokens\": 4}"))
                .build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r.body());
        assertTrue(r.body().contains("\"chat.completion\""), r.body());
    }

    /** Kafka client settings for SASL/PLAIN over TLS, trusting the self-signed certificate (PEM). */
    private static Map<String, Object> saslSsl(SelfSignedCertificate cert, String password) {
        return Map.of("security.protocol", "SASL_SSL", "sasl.mechanism", "PLAIN",
                "sasl.jaas.config", "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"qwen\" password=\""
                        + password + "\";",
                "ssl.truststore.type", "PEM", "ssl.truststore.location", cert.certificate.toAbsolutePath().toString());
    }

    private static Map<String, Object> withBootstrap(Map<String, Object> config, String bootstrap) {
        Map<String, Object> c = new HashMap<>(config);
        c.put("bootstrap.servers", bootstrap);
        c.put("request.timeout.ms", 10_000);
        return c;
    }
}
