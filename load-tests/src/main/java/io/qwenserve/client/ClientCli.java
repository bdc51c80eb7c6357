package io.qwenserve.client;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code bin/qwen client ...}: talk to a running service. */
@Command(name = "qwen client", mixinStandardHelpOptions = true, description = "Clients of a running qwen service.",
        subcommands = {ChatClientCommand.class})
public final class ClientCli {
    public static void main(String[] args) {
        CommandLine cl = new CommandLine(new ClientCli());
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            cmd.getErr().println("error: " + (ex.getMessage() != null ? ex.getMessage() : ex.toString()));
            return 1;
        });
        System.exit(cl.execute(args));
    }
}
