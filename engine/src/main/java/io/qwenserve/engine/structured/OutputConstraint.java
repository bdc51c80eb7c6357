package io.qwenserve.engine.structured;

/** What a constrained request's output must look like: a client's {@link ResponseFormat} or a {@link ToolCallFormat}. */
public sealed interface OutputConstraint permits ResponseFormat, ToolCallFormat {}
