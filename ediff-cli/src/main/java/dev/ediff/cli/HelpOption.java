package dev.ediff.cli;

import picocli.CommandLine.Option;

/** {@code -h}/{@code --help} on every command (a mixin: picocli's help command has its own). */
final class HelpOption {

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "show this help")
    boolean help;
}
