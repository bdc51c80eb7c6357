package io.qwenserve.engine;

import io.qwenserve.engine.api.ModelInfo;
import io.qwenserve.engine.chat.ChatTemplate;
import io.qwenserve.engine.config.GenerationDefaults;
import io.qwenserve.engine.config.ModelConfig;
import io.qwenserve.engine.model.ModelOptions;
import io.qwenserve.engine.model.ModelLoader;
import io.qwenserve.engine.model.QwenModel;
import io.qwenserve.engine.tokenizer.QwenTokenizer;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * A model folder made ready to serve: weights on the device, tokenizer, chat template, the model's decoding defaults
 * and the ids that end a generation.
 */
public record LoadedModel(Path dir, QwenModel model, QwenTokenizer tokenizer, ChatTemplate chatTemplate,
                          GenerationDefaults defaults, Set<Integer> stopIds) implements AutoCloseable {

    public static LoadedModel load(Path dir, ModelOptions options) {
        ModelConfig cfg = ModelConfig.load(dir); // first: its errors say best what is wrong with a folder
        QwenTokenizer tokenizer = QwenTokenizer.load(dir);
        GenerationDefaults defaults = GenerationDefaults.load(dir);
        QwenModel model = ModelLoader.load(cfg, dir, options);
        ChatTemplate template = ChatTemplate.forArchitecture(cfg.architecture(), tokenizer, defaults.maxWindowSize());
        Set<Integer> stops = new LinkedHashSet<>();
        for (int id : template.stopIds()) {
            stops.add(id);
        }
        stops.addAll(cfg.eosTokenIds());
        stops.addAll(defaults.eosTokenIds());
        return new LoadedModel(dir, model, tokenizer, template, defaults, Set.copyOf(stops));
    }

    public ModelConfig config() {
        return model.config();
    }

    /** What transports may know of this model, served with at most {@code maxModelLen} tokens per sequence. */
    public ModelInfo info(int maxModelLen) {
        return new ModelInfo(dir.getFileName().toString(), dir, config().architecture().hfClass(), model.precision().cliName(),
                model.devices().spec(), model.weightFormat(), model.kernelPolicy().toString(), maxModelLen,
                config().vocabSize());
    }

    /** Context length a sequence may use: the model's trained positions. */
    public int maxContext() {
        return config().maxPositionEmbeddings();
    }

    @Override
    public void close() {
        model.close();
    }
}
