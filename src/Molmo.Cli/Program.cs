using System.CommandLine;
using Molmo.Cli.Commands;

namespace Molmo.Cli;

public static class Program
{

    public static int Main(string[] args)
    {
        // A libtorch supplied at run time (MOLMO_LIBTORCH, e.g. a CUDA build; docs/gpu.md) must be loaded before TorchSharp starts.
        try { Molmo.Runtime.TorchRuntime.PreloadExternalLibTorch(); }
        catch (Exception e) { Console.Error.WriteLine($"error: {e.Message}"); return 1; }
        return BuildRoot().Parse(args).Invoke();
    }

    /// <summary>The whole `molmo` command tree (tests invoke it in-process).</summary>
    public static RootCommand BuildRoot()
    {
        var root = new RootCommand("molmo: run, inspect and evaluate Molmo vision-language models in .NET");
        // Each command group lives in Commands/<Name>Command.cs and adds itself here.
        root.Subcommands.Add(AskCommand.Create());
        root.Subcommands.Add(InspectCommand.Create());
        root.Subcommands.Add(QuantizeCommand.Create());
        root.Subcommands.Add(PreprocessCommand.Create());
        root.Subcommands.Add(ForwardCommand.Create());
        root.Subcommands.Add(DemoCommand.Create());
        root.Subcommands.Add(EvalCommand.Create());
        var data = new Command("data", "PixMo datasets: read, fetch images, generate, inspect");
        foreach (var c in DataCommand.Subcommands().Concat(SyntheticCommand.Subcommands())) data.Subcommands.Add(c);
        root.Subcommands.Add(data);
        return root;
    }
}
