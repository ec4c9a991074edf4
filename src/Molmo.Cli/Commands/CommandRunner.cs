namespace Molmo.Cli.Commands;

/// <summary>
/// Runs a command body so that bad input never crashes the process: any exception becomes one
/// "error: ..." line on stderr and exit code 1 (2 for cancellation by Ctrl+C).
/// </summary>
public static class CommandRunner
{
    public static int Run(Func<int> body)
    {
        try { return body(); }
        catch (OperationCanceledException) { Console.Error.WriteLine("cancelled"); return 2; }
        catch (Exception e) { return Fail(e); }
    }

    public static async Task<int> RunAsync(Func<Task<int>> body)
    {
        try { return await body().ConfigureAwait(false); }
        catch (OperationCanceledException) { Console.Error.WriteLine("cancelled"); return 2; }
        catch (Exception e) { return Fail(e); }
    }

    static int Fail(Exception e)
    {
        if (e is TypeInitializationException { TypeName: "TorchSharp.torch" })
        {
            Console.Error.WriteLine("error: libtorch could not be loaded. This build has no bundled libtorch: set MOLMO_LIBTORCH to a libtorch " +
                                    "folder (e.g. Python torch's torch/lib, see docs/gpu.md), or use the default build, which bundles the CPU libtorch.");
            if (Environment.GetEnvironmentVariable("MOLMO_DEBUG") == "1") Console.Error.WriteLine(e);
            return 1;
        }
        // Argument/IO/format errors carry messages written for users; anything else also gets its type name.
        var msg = e is ArgumentException or IOException or InvalidDataException or FormatException or NotSupportedException
                    or UnauthorizedAccessException or InvalidOperationException or System.Text.Json.JsonException
                    or Molmo.Text.TokenizerLoadException
            ? e.Message
            : $"{e.GetType().Name}: {e.Message}";
        Console.Error.WriteLine($"error: {msg}");
        if (Environment.GetEnvironmentVariable("MOLMO_DEBUG") == "1") Console.Error.WriteLine(e);
        return 1;
    }
}
