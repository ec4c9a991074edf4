using Molmo.Checkpoints;
using Molmo.Generation;
using Molmo.Model;
using Molmo.Tests.Model;
using static TorchSharp.torch;

namespace Molmo.Tests.Runtime;

/// <summary>
/// TorchSharp 0.107 turns a number passed where libtorch takes a Scalar into a native object freed by a finalizer, and passes
/// libtorch only its handle; a garbage collection in between (on any thread) can free it while libtorch reads it, which
/// fails the op with "Expected false to be true, but got false" or "Unknown scalar type" (docs/engine.md, "Scalars and the
/// garbage collector"). Here another thread collects garbage without pause while the model runs: every call must succeed
/// and give the same values as without collections. Alone, not beside other tests: the collections would slow them down and
/// expose their own scalar arguments to the same race.
/// </summary>
[Collection("collection pressure")]
public class CollectionPressureTests
{
    /// <summary>Another thread collecting garbage (and running finalizers) back to back until disposed.</summary>
    sealed class Collector : IDisposable
    {
        readonly Thread _thread;
        volatile bool _stop;
        public int Collections;

        public Collector()
        {
            _thread = new Thread(() =>
            {
                // Young-generation collections: the temporaries at risk are young, and a full collection of a test
                // process's heap would take long enough to stall the model for most of the test.
                while (!_stop) { GC.Collect(0); GC.WaitForPendingFinalizers(); Collections++; }
            }) { IsBackground = true };
            _thread.Start();
        }

        public void Dispose() { _stop = true; _thread.Join(); }
    }

    [Fact]
    public void RMSNormKeepsItsEpsilonAlive()
    {
        using var scope = NewDisposeScope();
        using var norm = new RMSNorm(64, 1e-6, new ModelPlacement(ScalarType.Float32, CPU));
        using (no_grad()) norm.parameters().Single().copy_(randn(64).mul(Scalars.Of(0.5)).add(Scalars.One, Scalars.One));
        var x = randn(1, 64);
        var expected = norm.forward(x);
        int failures = 0;
        string? first = null;
        using (var collector = new Collector())
        {
            for (int i = 0; i < 50_000; i++)
            {
                using var step = NewDisposeScope();
                try { if (!norm.forward(x).equal(expected).all().item<bool>()) throw new InvalidOperationException("a different value"); }
                catch (Exception e) { failures++; first ??= e.Message.Split('\n')[0]; }
            }
            Assert.True(collector.Collections > 100, $"only {collector.Collections} collections ran alongside");
        }
        Assert.True(failures == 0, $"{failures} of 50000 calls failed; the first: {first}");
    }

    [Theory]
    [InlineData(DecodeSteps.Eager)]
    [InlineData(DecodeSteps.FixedShape)]
    public void GreedyDecodingGivesTheSameTokens(DecodeSteps steps)
    {
        using var model = ModelLoader.Load(Golden.TinyDir("tiny_d_style"), Golden.Float32);
        using var scope = NewDisposeScope();
        var inputs = TinyInputs.Load("tiny_d_style", "img_100x100");
        var o = new GenerationOptions { MaxNewTokens = 120, StopOnEos = false };
        int[] Run() => new Molmo.Generation.Generator(model, -1) { Pipelined = true, Steps = steps }.Generate(inputs, o).Select(t => t.Id).ToArray();
        var expected = Run();
        using var collector = new Collector();
        for (int round = 0; round < 2; round++) Assert.Equal(expected, Run());
    }
}

[CollectionDefinition("collection pressure", DisableParallelization = true)]
public sealed class CollectionPressureCollection;
