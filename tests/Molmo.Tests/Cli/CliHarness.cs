namespace Molmo.Tests.Cli;

/// <summary>Runs the `molmo` command tree in-process, capturing stdout and stderr.</summary>
internal static class CliHarness
{
    static readonly SemaphoreSlim Gate = new(1, 1);

    public static (int Code, string Out, string Err) Run(params string[] args)
    {
        Gate.Wait();
        var oldOut = Console.Out; var oldErr = Console.Error;
        var so = new StringWriter(); var se = new StringWriter();
        try
        {
            Console.SetOut(so); Console.SetError(se);
            // Spectre's static console captures Console.Out when first used; without a fresh one, every command after the
            // first that used it (demo, eval tables, inspect) writes into that earlier run's captured writer.
            Spectre.Console.AnsiConsole.Console = Spectre.Console.AnsiConsole.Create(new Spectre.Console.AnsiConsoleSettings { Out = new Spectre.Console.AnsiConsoleOutput(so) });
            int code = Molmo.Cli.Program.BuildRoot().Parse(args).Invoke();
            return (code, so.ToString(), se.ToString());
        }
        finally
        {
            Console.SetOut(oldOut); Console.SetError(oldErr);
            Gate.Release();
        }
    }
}

[CollectionDefinition("cli", DisableParallelization = true)]
public sealed class CliCollection;
