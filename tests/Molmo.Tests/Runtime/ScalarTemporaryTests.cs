namespace Molmo.Tests.Runtime;

/// <summary>
/// The engine hands libtorch no Scalar that nobody keeps alive (docs/engine.md, "Scalars and the garbage collector"): no
/// number converted to a Scalar at a call, and no call to a TorchSharp overload that makes one itself (such as <c>a + b</c>,
/// which passes <c>alpha = 1</c> that way), outside <c>Molmo.Runtime.Scalars</c>. Read from the compiled IL.
/// </summary>
public class ScalarTemporaryTests
{
    static string TorchSharpPath => typeof(TorchSharp.torch).Assembly.Location;

    // RMSNorm passes TorchScript its held epsilon; invoke converts only the numbers it is given, and it is given none.
    static readonly string[] Allowed =
        ["Molmo.Model.RMSNorm::forward: calls TorchSharp.torch/jit/CompilationUnit::invoke(String,Object[]), which makes a Scalar temporary"];

    [Theory]
    [InlineData(typeof(Molmo.Model.MolmoForCausalLM))]
    [InlineData(typeof(Molmo.Cli.Program))]
    public void TheEngineMakesNoScalarTemporaries(Type inAssembly)
    {
        var found = ScalarTemporaries.Find(inAssembly.Assembly.Location, TorchSharpPath, "Molmo.Runtime.Scalars").Except(Allowed).ToList();
        Assert.True(found.Count == 0, string.Join("\n", found));
    }

    [Fact]
    public void TheCheckFindsThemWhereTheyAre()
    {
        // These tests write tensor arithmetic the usual way (a + b, x * 0.5, x.ge(0)), which is what the check must see.
        var found = ScalarTemporaries.Find(typeof(ScalarTemporaryTests).Assembly.Location, TorchSharpPath, "Molmo.Runtime.Scalars");
        Assert.Contains(found, f => f.Contains("calls TorchSharp.torch/Tensor::op_Addition(TorchSharp.torch/Tensor,TorchSharp.torch/Tensor)"));
        Assert.Contains(found, f => f.Contains("calls TorchSharp.torch/Tensor::op_Multiply(TorchSharp.torch/Tensor,Double)"));
        Assert.Contains(found, f => f.Contains("converts a number to a Scalar (TorchSharp.Scalar::op_Implicit(Int32))"));
        Assert.Contains(found, f => f.StartsWith("Molmo.Tests.Model.RMSNormTests::Reference:", StringComparison.Ordinal));
    }
}
