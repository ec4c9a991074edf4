using Molmo.Checkpoints;
using Molmo.TestSupport;
using TorchSharp;
using static TorchSharp.torch;

namespace Molmo.Tests.Model;

/// <summary>Reads tensors from the golden safetensors files and compares within tolerances.</summary>
internal static class Golden
{
    /// <summary>
    /// Device the golden model tests run on: <c>MOLMO_TEST_DEVICE</c> (e.g. <c>cuda</c> on a GPU machine, with a CUDA libtorch, see
    /// docs/gpu.md), else the CPU. Tolerances are the same on every device.
    /// </summary>
    public static Device TestDevice { get; } = Molmo.Runtime.TorchRuntime.ParseDevice(Environment.GetEnvironmentVariable("MOLMO_TEST_DEVICE") is { Length: > 0 } d ? d : "cpu");

    public static Molmo.Model.ModelPlacement Float32 => new(ScalarType.Float32, TestDevice);

    public static string TinyDir(string variant) => Path.Combine(TestPaths.Golden, variant);

    public static Tensor Read(string path, string name)
    {
        using var f = SafetensorsFile.Open(path);
        return f.Read(name);
    }

    public static bool Has(string path, string name)
    {
        using var f = SafetensorsFile.Open(path);
        return f.Contains(name);
    }

    public static void AssertClose(Tensor expected, Tensor actual, double absTol, double relTol, string what)
    {
        Assert.Equal(expected.shape, actual.shape);
        using var scope = NewDisposeScope();
        var e = expected.to(ScalarType.Float64).cpu();
        var a = actual.to(ScalarType.Float64).cpu();
        var diff = (e - a).abs();
        using var abs = Scalars.New(absTol);
        using var rel = Scalars.New(relTol);
        var allowed = e.abs().mul(rel).add(abs, Scalars.One);
        var bad = diff.gt(allowed);
        if (bad.any().item<bool>())
        {
            var maxDiff = diff.max().item<double>();
            var nBad = bad.sum().item<long>();
            Assert.Fail($"{what}: {nBad} of {e.NumberOfElements} values differ beyond tolerance (abs {absTol}, rel {relTol}); max |Δ| = {maxDiff:g4}");
        }
    }

    public static long[] GreedyIds(string path)
    {
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(path));
        return doc.RootElement.GetProperty("generated").EnumerateArray().Select(x => x.GetInt64()).ToArray();
    }
}
