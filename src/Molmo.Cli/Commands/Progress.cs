using Molmo.Checkpoints;
using Spectre.Console;

namespace Molmo.Cli.Commands;

/// <summary>Spectre progress bars for long work (model loading), on stderr so stdout stays clean for answers.</summary>
internal static class ProgressUi
{
    static readonly IAnsiConsole Err = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(System.Console.Error) });

    public static IAnsiConsole Console => Err;

    public static T WithLoadProgress<T>(string title, Func<IProgress<LoadProgress>, T> work)
    {
        if (System.Console.IsErrorRedirected)
        {
            // Non-interactive: one line at the end instead of a live bar.
            var sw = System.Diagnostics.Stopwatch.StartNew();
            long bytes = 0;
            var r = work(new SyncProgress<LoadProgress>(p => bytes = p.BytesTotal));
            System.Console.Error.WriteLine($"{title}: {bytes / 1e6:F1} MB in {sw.Elapsed.TotalSeconds:F2} s");
            return r;
        }
        T result = default!;
        Err.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new TransferSpeedColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask(title);
                result = work(new SyncProgress<LoadProgress>(p =>
                {
                    task.MaxValue = Math.Max(1, p.BytesTotal);
                    task.Value = p.BytesDone;
                }));
                task.Value = task.MaxValue;
            });
        return result;
    }
}

/// <summary>An IProgress that reports on the calling thread (Progress&lt;T&gt; posts to the thread pool).</summary>
internal sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
