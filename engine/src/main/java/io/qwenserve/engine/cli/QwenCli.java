package io.qwenserve.engine.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code bin/qwen}: the in-process command line. */
@Command(name = "qwen", mixinStandardHelpOptions = true, version = "qwen-serve 0.1.0",
        description = "Run Qwen models on libtorch from the JVM.",
        subcommands = {ChatCommand.class, GenerateCommand.class, LogitsCommand.class, TokenizeCommand.class,
                DetokenizeCommand.class, InitModelCommand.class, BenchCommand.class, BenchStructuredCommand.class,
                BenchStructuredStepsCommand.class, InfoCommand.class, NativesCommand.class, AccuracyCommand.class,
                FinetuneCommand.class, MergeLoraCommand.class, DemoModelCommand.class, FinetuneBenchCommand.class,
                LoraBenchCommand.class,
                CommandLine.HelpCommand.class})
public final class QwenCli {
    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new QwenCli());
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            cmd.getErr().println("error: " + (ex.getMessage() != null ? ex.getMessage() : ex.toString()));
            if (System.getenv("QWEN_DEBUG") != null) {
                ex.printStackTrace(cmd.getErr());
            }
            return 1;
        });
        return cl;
    }
}
