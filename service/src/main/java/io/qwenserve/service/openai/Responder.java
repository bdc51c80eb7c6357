package io.qwenserve.service.openai;

import io.qwenserve.service.openai.Generations.ChoiceEvent;
import java.util.List;

/** Presents one call's engine events in an endpoint's format, streamed ({@link #start}, {@link #chunks}, {@link #end}) or whole. */
interface Responder {
    OpenAiCall call();

    /** What is sent before any engine event. */
    List<Object> start();

    /** What one engine event turns into (possibly nothing). */
    List<Object> chunks(ChoiceEvent e);

    /** What is sent after the last engine event. */
    List<Object> end();

    /** The whole answer; throws {@link GenerationFailedException} when a choice failed in the engine. */
    Object completion(List<ChoiceEvent> events);
}
