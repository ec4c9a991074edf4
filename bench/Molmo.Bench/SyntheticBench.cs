using System.Diagnostics;
using System.Globalization;
using Molmo.Synthetic;
using Molmo.Synthetic.Parquet;

namespace Molmo.Bench;

/// <summary>
/// Synthetic data throughput: images per second on ONE core (rendering + PNG encoding of full rows) for every generator at
/// 336 px and 1024 px. Reported twice: per wall-clock second on one thread, and per CPU second of the process (robust when
/// other work shares the cores; generation is single-threaded here, so CPU time ≈ one core's time). Usage: <c>synthetic [--n336 N] [--n1024 N] [--kinds clocks,charts,...] [--append FILE]</c>.
/// </summary>
public static class SyntheticBench
{
    public static int Run(string[] args)
    {
        int n336 = 60, n1024 = 15;
        string? append = null;
        var kinds = Enum.GetValues<SyntheticKind>().ToList();
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--n336": n336 = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--n1024": n1024 = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--append": append = args[++i]; break;
                case "--kinds": kinds = args[++i].Split(',').Select(SyntheticKinds.Parse).ToList(); break;
                default: Console.Error.WriteLine($"unknown argument {args[i]}"); return 1;
            }
        }
        var lines = new List<string>
        {
            "| generator | size (px) | images | images/s (wall, 1 thread) | images/s per CPU-second | CPU ms/image | mean PNG KiB |",
            "|---|---|---|---|---|---|---|",
        };
        Console.WriteLine($"{"generator",-8} {"size",5} {"n",4} {"img/s wall",11} {"img/s/cpu",10} {"cpu ms",8} {"PNG KiB",8}");
        var proc = Process.GetCurrentProcess();
        foreach (var kind in kinds)
            foreach (var (size, n) in new[] { (336, n336), (1024, n1024) })
            {
                // Warm-up (JIT, font and shader caches), then time n rows on this thread only.
                for (int i = 0; i < 3; i++) SyntheticDatasetWriter.GenerateRow(kind, 999, i, size);
                long bytes = 0;
                proc.Refresh();
                var cpu0 = proc.TotalProcessorTime;
                var sw = Stopwatch.StartNew();
                for (int i = 0; i < n; i++)
                    bytes += SyntheticDatasetWriter.GenerateRow(kind, 1, i, size) switch
                    {
                        ClockRow r => r.Image.Bytes!.Length,
                        DocRow r => r.Image.Bytes!.Length,
                        CountRow r => r.Image.Bytes!.Length,
                        _ => 0,
                    };
                double s = sw.Elapsed.TotalSeconds;
                proc.Refresh();
                double c = (proc.TotalProcessorTime - cpu0).TotalSeconds;
                Console.WriteLine($"{kind.Name(),-8} {size,5} {n,4} {n / s,11:F1} {n / c,10:F1} {1000 * c / n,8:F1} {bytes / 1024.0 / n,8:F1}");
                lines.Add(string.Create(CultureInfo.InvariantCulture, $"| {kind.Name()} | {size} | {n} | {n / s:F1} | {n / c:F1} | {1000 * c / n:F1} | {bytes / 1024.0 / n:F1} |"));
            }
        if (append is not null)
        {
            var cmd = "dotnet run -c Release --project bench/Molmo.Bench -- synthetic " + string.Join(' ', args);
            var load = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "?";
            File.AppendAllText(append, $"\n### Synthetic generators ({DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, load average {load} at the end)\n\n" +
                $"Command: `{cmd}`\n\n" + string.Join('\n', lines) + "\n");
        }
        return 0;
    }
}
