using static TorchSharp.torch;

namespace Molmo.Tests.Runtime;

/// <summary>
/// Our code hands libtorch no Scalar that nobody keeps alive (docs/engine.md, "Scalars and the garbage collector"): no
/// number converted to a Scalar at a call, and no call to a TorchSharp overload that makes one itself (such as <c>a + b</c>,
/// which passes <c>alpha = 1</c> that way), outside <c>Molmo.Runtime.Scalars</c>. Read from the compiled IL of every
/// assembly of ours beside the tests: the engine, the CLI, the data, eval and synthetic libraries, the benchmarks, and these
/// tests, whose classes run beside each other (and whose <see cref="CollectionPressureTests"/> collect on purpose).
/// </summary>
public class ScalarTemporaryTests
{
    static string TorchSharpPath => typeof(TorchSharp.torch).Assembly.Location;

    // RMSNorm passes TorchScript its held epsilon; invoke converts only the numbers it is given, and it is given none.
    static readonly string[] Allowed =
        ["Molmo.Model.RMSNorm::forward: calls TorchSharp.torch/jit/CompilationUnit::invoke(String,Object[]), which makes a Scalar temporary"];

    // The examples below exist to be found, and are never run.
    static readonly string ExamplesPrefix = typeof(UsualArithmetic).FullName!.Replace('+', '/') + "::";

    static List<string> OurAssemblyNames() =>
        Directory.GetFiles(AppContext.BaseDirectory, "Molmo*.dll").Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal).ToList();

    public static TheoryData<string> OurAssemblies() => new(OurAssemblyNames());

    [Fact]
    public void EveryLibraryIsScanned()
    {
        var scanned = OurAssemblyNames();
        foreach (var library in new[] { typeof(Molmo.Model.MolmoForCausalLM), typeof(Molmo.Cli.Program), typeof(ScalarTemporaryTests) })
            Assert.Contains(Path.GetFileName(library.Assembly.Location), scanned);
        Assert.Contains("Molmo.Bench.dll", scanned);
        Assert.True(scanned.Count >= 7, string.Join(", ", scanned));   // with Molmo.Data, Molmo.Eval and Molmo.Synthetic (through the CLI)
    }

    [Theory]
    [MemberData(nameof(OurAssemblies))]
    public void MakesNoScalarTemporaries(string assembly)
    {
        var found = ScalarTemporaries.Find(Path.Combine(AppContext.BaseDirectory, assembly), TorchSharpPath, "Molmo.Runtime.Scalars")
            .Except(Allowed).Where(f => !f.StartsWith(ExamplesPrefix, StringComparison.Ordinal)).ToList();
        Assert.True(found.Count == 0, string.Join("\n", found));
    }

    [Fact]
    public void TheCheckFindsThemWhereTheyAre()
    {
        var found = ScalarTemporaries.Find(typeof(ScalarTemporaryTests).Assembly.Location, TorchSharpPath, "Molmo.Runtime.Scalars");
        var examples = found.Where(f => f.StartsWith(ExamplesPrefix, StringComparison.Ordinal)).ToList();
        Assert.Contains(examples, f => f.Contains("calls TorchSharp.torch/Tensor::op_Addition(TorchSharp.torch/Tensor,TorchSharp.torch/Tensor)"));
        Assert.Contains(examples, f => f.Contains("calls TorchSharp.torch/Tensor::op_Multiply(TorchSharp.torch/Tensor,Double)"));
        Assert.Contains(examples, f => f.Contains("converts a number to a Scalar (TorchSharp.Scalar::op_Implicit(Int32))"));
        Assert.Contains(examples, f => f.Contains("calls TorchSharp.torch::arange(TorchSharp.Scalar,"));
        // Kept Scalars pass: the same arithmetic through Molmo.Runtime.Scalars.
        Assert.DoesNotContain(found, f => f.Contains("UsualArithmetic::Kept"));
    }

    /// <summary>Tensor arithmetic written the usual way: what the check must find. Never run.</summary>
    static class UsualArithmetic
    {
        internal static Tensor Sum(Tensor a, Tensor b) => a + b;
        internal static Tensor Half(Tensor x) => x * 0.5;
        internal static Tensor NonNegative(Tensor x) => x.ge(0);
        internal static Tensor Positions(long n) => arange(n);
        internal static Tensor Kept(Tensor a, Tensor x, long n) =>
            a.add(x.mul(Scalars.Of(0.5)), Scalars.One).add(Scalars.Arange(0, n, ScalarType.Float32), Scalars.One).ge(Scalars.Of(0));
    }
}
