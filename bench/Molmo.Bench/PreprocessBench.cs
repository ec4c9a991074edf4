using System.Diagnostics;
using System.Text;
using Molmo.Imaging;
using Molmo.Text;
using SkiaSharp;

namespace Molmo.Bench;

/// <summary>
/// Image decode + Molmo preprocessing (spec §3) for a 640×480 and a 1920×1080 PNG, synthesised with SkiaSharp. Decode and preprocess
/// are timed separately (warm-up of at least 30 runs and 2 s, then the median of N runs) and their sum is printed next to the reference Python processor.
/// Usage: <c>preprocess [--runs N] [--append FILE]</c>.
/// </summary>
public static class PreprocessBench
{
    /// <summary>Reference: the Hugging Face Molmo processor (Python, torch CPU) on a 640×480 image, decode + preprocess, in ms.</summary>
    public const double Reference640x480Ms = 35;

    /// <summary>Reference: the same for a 1920×1080 image, in ms.</summary>
    public const double Reference1920x1080Ms = 76;

    // 7B-D ids; they do not affect timing.
    static readonly SpecialTokenIds Ids = new(ImStart: 152064, ImEnd: 152065, ImPatch: 152066, ImCol: 152067, Image: 152068, Bos: 151643, Eos: 151643);

    public static int Run(string[] args)
    {
        int runs = 20;
        string? append = null;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--runs" when i + 1 < args.Length && int.TryParse(args[i + 1], out runs) && runs > 0: i++; break;
                case "--append" when i + 1 < args.Length: append = args[++i]; break;
                default:
                    Console.Error.WriteLine($"preprocess: unknown or incomplete argument '{args[i]}' (usage: preprocess [--runs N] [--append FILE])");
                    return 2;
            }
        }

        // The VM is shared: record how busy it was when the run started.
        string load = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "n/a";
        var cropper = new ImageCropper();
        var rows = new List<(string Name, string Tiling, double Decode, double Pre, double MinTotal, double First, double Reference)>();
        foreach (var (w, h, reference) in new[] { (640, 480, Reference640x480Ms), (1920, 1080, Reference1920x1080Ms) })
        {
            byte[] png = SynthesisePng(w, h);
            var decode = new List<double>();
            var pre = new List<double>();
            var totals = new List<double>();
            // The very first call of this size in the process (for the first size: cold JIT, what a one-shot CLI run pays).
            long c0 = Stopwatch.GetTimestamp();
            PreprocessedImage? last = cropper.Preprocess(ImageDecoder.Decode(png, sourceName: $"synthetic {w}×{h}"), Ids);
            double first = Stopwatch.GetElapsedTime(c0).TotalMilliseconds;
            // Warm-up: long enough for tiered JIT to reach optimised code (at least 30 runs and 2 s).
            var warm = Stopwatch.StartNew();
            for (int r = 0; r < 30 || warm.Elapsed.TotalSeconds < 2; r++)
                last = cropper.Preprocess(ImageDecoder.Decode(png, sourceName: $"synthetic {w}×{h}"), Ids);
            for (int r = 0; r < runs; r++)
            {
                long t0 = Stopwatch.GetTimestamp();
                var img = ImageDecoder.Decode(png, sourceName: $"synthetic {w}×{h}");
                long t1 = Stopwatch.GetTimestamp();
                last = cropper.Preprocess(img, Ids);
                long t2 = Stopwatch.GetTimestamp();
                decode.Add(Stopwatch.GetElapsedTime(t0, t1).TotalMilliseconds);
                pre.Add(Stopwatch.GetElapsedTime(t1, t2).TotalMilliseconds);
                totals.Add(Stopwatch.GetElapsedTime(t0, t2).TotalMilliseconds);
            }
            rows.Add(($"{w}×{h} PNG ({png.Length / 1024} KiB)", $"{last!.Rows}×{last.Cols} ({last.NumCrops} crops)", Median(decode), Median(pre), totals.Min(), first, reference));
        }

        var sb = new StringBuilder();
        sb.AppendLine("| image | tiling | decode (ms) | preprocess (ms) | total (ms) | fastest total (ms) | first call (ms) | reference Python processor (ms) | speed-up (median) |");
        sb.AppendLine("|---|---|---|---|---|---|---|---|---|");
        foreach (var r in rows)
            sb.AppendLine($"| {r.Name} | {r.Tiling} | {r.Decode:F1} | {r.Pre:F1} | {r.Decode + r.Pre:F1} | {r.MinTotal:F1} | {r.First:F1} | {r.Reference:F0} | {r.Reference / (r.Decode + r.Pre):F1}× |");
        string table = sb.ToString();
        string note = $"decode and preprocess: median of {runs} runs after ≥ 30 warm-up runs (≥ 2 s) (fastest total also shown), {Environment.ProcessorCount} logical CPUs, 1-min load average at start {load}";
        Console.WriteLine(note + "\n");
        Console.Write(table);

        if (append != null)
        {
            var md = new StringBuilder();
            md.AppendLine();
            md.AppendLine($"### preprocess, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} logical CPUs");
            md.AppendLine();
            md.AppendLine($"`dotnet run -c Release --project bench/Molmo.Bench -- {string.Join(' ', args.Prepend("preprocess"))}`");
            md.AppendLine();
            md.AppendLine(note + ".");
            md.AppendLine();
            md.Append(table);
            File.AppendAllText(append, md.ToString());
        }
        return 0;
    }

    static double Median(List<double> xs)
    {
        var s = xs.Order().ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }

    /// <summary>A photo-like test picture: gradients, shapes and mild noise, so the PNG is neither trivial nor incompressible.</summary>
    internal static byte[] SynthesisePng(int w, int h)
    {
        using var bmp = new SKBitmap(new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Opaque));
        using (var canvas = new SKCanvas(bmp))
        {
            using var bg = new SKPaint
            {
                Shader = SKShader.CreateLinearGradient(new SKPoint(0, 0), new SKPoint(w, h),
                    [new SKColor(30, 80, 160), new SKColor(240, 200, 90), new SKColor(20, 120, 60)], SKShaderTileMode.Clamp),
            };
            canvas.DrawRect(0, 0, w, h, bg);
            var rng = new Random(42);
            using var paint = new SKPaint { IsAntialias = true };
            for (int i = 0; i < 60; i++)
            {
                paint.Color = new SKColor((byte)rng.Next(256), (byte)rng.Next(256), (byte)rng.Next(256), (byte)rng.Next(80, 255));
                canvas.DrawCircle(rng.Next(w), rng.Next(h), rng.Next(5, Math.Max(6, w / 8)), paint);
            }
        }
        var px = bmp.GetPixelSpan();
        var noise = new Random(7);
        for (int i = 0; i < px.Length; i += 4)
        {
            int n = noise.Next(-6, 7);
            for (int c = 0; c < 3; c++) px[i + c] = (byte)Math.Clamp(px[i + c] + n, 0, 255);
        }
        using var data = bmp.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }
}
