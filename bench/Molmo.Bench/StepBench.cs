using System.Diagnostics;
using System.Globalization;
using Molmo.Checkpoints;
using Molmo.Model;
using Molmo.Runtime;
using static TorchSharp.torch;

namespace Molmo.Bench;

/// <summary>
/// The host's cost of issuing one decode step, which is what bounds decode on a GPU (stack notes §8.1: ~7 µs per op from C#,
/// far more than the H200's time to read the weights). The decoder has 7B-D's structure (28 layers, 28 query heads over 4 KV
/// heads, qkv bias, SwiGLU) at a few dimensions a head, so that the arithmetic is negligible next to issuing the ops, and runs the
/// libtorch-only path that CUDA takes (the engine's CPU kernels are switched off). It reports the libtorch calls a step makes
/// (tensors created, views included: each is one call from C# through TorchSharp into libtorch), their time, and the
/// tokens/s that this cost alone would allow. The batch rows hold different lengths, as in batched decoding of independent
/// requests. Usage: <c>steps [--device cpu|cuda] [--dtype bf16|fp32] [--batch 1,16] [--steps 300] [--ops]</c>.
/// </summary>
public static class StepBench
{
    // The eager decode probe of stack notes §8.1 on an H200 (7B-D shapes, batch 1): a plain step and a leaner one.
    const double ProbePlainMs = 13.2, ProbeLeanMs = 11.6;

    /// <summary>Tensors created so far in this process (views included): each is one call from C# through TorchSharp into
    /// libtorch, so the difference over some work counts the calls the host issued for it.</summary>
    internal static long LibtorchCalls()
    {
        var stats = TorchSharp.DisposeScopeManager.Statistics;
        return stats.CreatedInScopeCount + stats.CreatedOutsideScopeCount;
    }

    public static int Run(string[] args)
    {
        var a = Args.Parse(args);
        var device = TorchRuntime.ParseDevice(a.Get("--device", "cpu")!);
        var dtype = TorchRuntime.ParseDType(a.Get("--dtype", "bf16")!);
        int steps = int.Parse(a.Get("--steps", "300")!, CultureInfo.InvariantCulture);
        var batches = a.Get("--batch", "1,16")!.Split(',').Select(x => int.Parse(x, CultureInfo.InvariantCulture)).ToArray();
        var json = ModelBench.ArchConfig("7b-d");
        // 4 dims a head, a small FFN and vocabulary: the same ops as 7B-D's step, each on a few KB.
        json["hidden_size"] = 28 * 4; json["intermediate_size"] = 256; json["embedding_size"] = 1024; json["vocab_size"] = 1024;
        var cfg = MolmoConfig.Parse(json);

        using var model = new MolmoForCausalLM(cfg, new ModelPlacement(dtype, device));
        RandomWeights.Initialize(model, seed: 1);
        using var noGrad = no_grad();
        Console.WriteLine($"CPU: {MachineInfo.Cpu()}");
        Console.WriteLine($"7B-D decode structure ({cfg.NumLayers} layers, {cfg.NumHeads}/{cfg.NumKeyValueHeads} heads) at width {cfg.HiddenSize}, {TorchRuntime.DTypeName(dtype)}, {device}, libtorch ops only");
        Console.WriteLine();
        Console.WriteLine("| batch | libtorch calls per step | per layer | host time per step | tokens/s this cost allows (batch 1) |");
        Console.WriteLine("|---|---|---|---|---|");
        bool kernels = Linear.UseCpuKernels;
        Linear.UseCpuKernels = false;
        try
        {
            foreach (int batch in batches)
            {
                using var cache = model.NewCache(batch, 400 + steps + 64);
                for (int b = 0; b < batch; b++)
                {
                    using var scope = NewDisposeScope();
                    using var row = cache.Row(b);
                    model.Forward(new ModelInputs(ones(1, 300 + 7 * b, dtype: ScalarType.Int64)), row, new ForwardOptions { AllLogits = false }).Dispose();
                    cache.SetRowLength(b, row.Length);
                }
                var ids = full(batch, 1, Scalars.Of(5L), ScalarType.Int64);
                void Step()
                {
                    using var scope = NewDisposeScope();
                    model.Forward(new ModelInputs(ids), cache, new ForwardOptions { AllLogits = false }).Logits.argmax(-1).cpu();
                }
                for (int i = 0; i < 20; i++) Step();
                long created0 = LibtorchCalls();
                var sw = Stopwatch.StartNew();
                for (int i = 0; i < steps; i++) Step();
                double ms = sw.Elapsed.TotalMilliseconds / steps;
                double calls = (LibtorchCalls() - created0) / (double)steps;
                Console.WriteLine($"| {batch} | {calls:F0} | {calls / cfg.NumLayers:F1} | {ms:F2} ms | {(batch == 1 ? $"{1000 / ms:F0}" : "–")} |");
            }
        }
        finally { Linear.UseCpuKernels = kernels; }
        Console.WriteLine();
        Console.WriteLine($"Reference: the stack notes' eager C# probe of a 7B-D step on an H200: {ProbePlainMs} ms plain, {ProbeLeanMs} ms lean ({1000 / ProbePlainMs:F0} and {1000 / ProbeLeanMs:F0} tok/s).");
        if (a.Has("--ops")) OpCosts(device, dtype);
        return 0;
    }

    /// <summary>
    /// The host's time for single ops of a decode step on tiny tensors (--ops): what one call costs from C#, by kind, on this
    /// device. Views launch nothing; the rest launch one kernel each (on a GPU) and allocate their output.
    /// </summary>
    static void OpCosts(Device device, ScalarType dtype)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        bool gpu = device.type == TorchSharp.DeviceType.CUDA;
        var x = randn([1, 1, 112], dtype: dtype, device: device);
        var y = randn([1, 1, 112], dtype: dtype, device: device);
        var w = randn([112, 112], dtype: dtype, device: device);
        var norm = new RMSNorm(112, 1e-6, new ModelPlacement(dtype, device));
        var table = randn([1, 1, 1, 112], dtype: ScalarType.Float32, device: device);
        var kv = randn([1, 4, 400, 112], dtype: dtype, device: device);
        var q = randn([4, 7, 112], dtype: dtype, device: device);
        var ops = new (string Name, Action Op)[]
        {
            ("view (no kernel)", () => x.view(112).Dispose()),
            ("narrow (no kernel)", () => x.narrow(-1, 0, 56).Dispose()),
            ("x.add_(y) in place", () => x.add_(y, Scalars.One)),
            ("x.add(y) (new tensor)", () => x.add(y, Scalars.One).Dispose()),
            ("silu", () => nn.functional.silu(x).Dispose()),
            ("roll", () => x.roll(56, -1).Dispose()),
            ("bf16 × float32 table", () => (x.view(1, 1, 1, 112) * table).Dispose()),
            ("to(float32)", () => x.to(ScalarType.Float32).Dispose()),
            ("linear 112→112", () => nn.functional.linear(x, w).Dispose()),
            ("RMSNorm (TorchScript rms_norm)", () => norm.forward(x).Dispose()),
            ("copy_ into a cache slot", () => kv.narrow(2, 300, 1).copy_(kv.narrow(2, 0, 1))),
            ("bmm [4,7,hd]×[4,hd,300]", () => matmul(q, kv.view(4, 400, 112).narrow(1, 0, 300).transpose(1, 2)).Dispose()),
            ("softmax", () => x.softmax(-1).Dispose()),
            ("argmax", () => x.argmax(-1).Dispose()),
        };
        Console.WriteLine();
        Console.WriteLine($"Host time of one op on tiny tensors, {TorchRuntime.DTypeName(dtype)}, {device} (mean of 20,000 after 2,000 warm-up{(gpu ? "; a sync after each batch of 1,000" : "")}):");
        Console.WriteLine();
        Console.WriteLine("| op | µs per call |");
        Console.WriteLine("|---|---|");
        foreach (var (name, op) in ops)
        {
            for (int i = 0; i < 2000; i++) op();
            if (gpu) cuda.synchronize();
            var sw = Stopwatch.StartNew();
            for (int i = 0; i < 20; i++)
            {
                for (int j = 0; j < 1000; j++) op();
                if (gpu) cuda.synchronize();
            }
            Console.WriteLine($"| {name} | {sw.Elapsed.TotalMilliseconds * 1000 / 20000:F2} |");
        }
        norm.Dispose();
    }
}
