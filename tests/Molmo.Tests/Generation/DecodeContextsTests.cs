using Molmo.Checkpoints;
using Molmo.Generation;
using Molmo.Model;
using Molmo.Tests.Model;
using static TorchSharp.torch;

namespace Molmo.Tests.Generation;

/// <summary>
/// Fixed-shape decode steps (what a CUDA graph records) are kept with their KV cache between requests: a later request of the
/// same rows and capacity bucket takes them over, and gets the tokens of eager decoding; requests that stop early give their
/// context back; idle contexts are bounded. On the CPU the steps run eagerly; on a GPU the same code replays the graph.
/// </summary>
public class DecodeContextsTests
{
    const string Variant = "tiny_d_style";

    static int Eos => MolmoConfig.Load(Golden.TinyDir(Variant)).SpecialTokens!.Eos;

    static int[] Generate(MolmoForCausalLM model, ModelInputs inputs, int tokens, DecodeSteps steps) =>
        new Molmo.Generation.Generator(model, Eos) { Pipelined = true, Steps = steps }
            .Generate(inputs, new GenerationOptions { MaxNewTokens = tokens, StopOnEos = false }).Select(t => t.Id).ToArray();

    [Fact]
    public void LaterRequestsOfTheSameBucketTakeOverTheStepsAndGetTheSameTokens()
    {
        using var model = ModelLoader.Load(Golden.TinyDir(Variant), Golden.Float32);
        using var scope = NewDisposeScope();
        var pool = model.DecodeContexts;
        var short1 = TinyInputs.Load(Variant, "img_100x100");
        var short2 = new ModelInputs(Scalars.Arange(1, 301, ScalarType.Int64).remainder(Scalars.Of(500)).view(1, -1));   // a text prompt of 300 tokens
        var longer = TinyInputs.Load(Variant, "img_480x640");
        int Bucket(ModelInputs i, int tokens) => DecodeContexts.Bucket((int)i.InputIds.shape[1] + tokens, model.Config.MaxPositionEmbeddings);
        Assert.Equal(Bucket(short1, 12), Bucket(short2, 9));
        Assert.NotEqual(Bucket(short1, 12), Bucket(longer, 12));

        var requests = new (ModelInputs Inputs, int Tokens)[] { (short1, 12), (short2, 9), (short1, 5), (longer, 12), (short2, 12) };
        foreach (var (inputs, tokens) in requests)
            Assert.Equal(Generate(model, inputs, tokens, DecodeSteps.Eager), Generate(model, inputs, tokens, DecodeSteps.FixedShape));
        // One context for the three short requests' bucket, one for the longer: the others took over an idle one.
        Assert.Equal((2, 3, 2), (pool.Created, pool.Reused, pool.Idle));

        // A request that stops early (the caller stops reading) gives its context back too.
        var firstThree = new Molmo.Generation.Generator(model, Eos) { Pipelined = true, Steps = DecodeSteps.FixedShape }
            .Generate(short1, new GenerationOptions { MaxNewTokens = 12, StopOnEos = false }).Take(3).Select(t => t.Id).ToArray();
        Assert.Equal(Generate(model, short1, 3, DecodeSteps.Eager), firstThree);
        Assert.Equal((2, 4, 2), (pool.Created, pool.Reused, pool.Idle));

        // Batches of as many rows share theirs, with rows refilled mid-batch.
        var batch = new[] { short1, short2, longer, short2, short1 };
        var options = new GenerationOptions { MaxNewTokens = 7, StopOnEos = false };
        var eager = new BatchGenerator(model, Eos) { Pipelined = true, Steps = DecodeSteps.Eager }.Generate(batch, options);
        for (int round = 0; round < 2; round++)
        {
            var fixedShape = new BatchGenerator(model, Eos) { Pipelined = true, Steps = DecodeSteps.FixedShape }
                .Generate(batch, batch.Select(_ => options).ToList(), maxBatch: 2);
            for (int i = 0; i < batch.Length; i++) Assert.Equal(eager[i].Ids, fixedShape[i].Ids);
        }
        Assert.Equal((3, 5, 3), (pool.Created, pool.Reused, pool.Idle));

        pool.Clear();
        Assert.Equal(0, pool.Idle);
        Assert.Equal(Generate(model, short2, 4, DecodeSteps.Eager), Generate(model, short2, 4, DecodeSteps.FixedShape));
        Assert.Equal((4, 1), (pool.Created, pool.Idle));
    }

    [Fact]
    public void IdleContextsAreBoundedAndTheLeastRecentlyUsedGoes()
    {
        using var model = ModelLoader.Load(Golden.TinyDir(Variant), Golden.Float32);
        var pool = model.DecodeContexts;
        var rented = Enumerable.Range(1, DecodeContexts.MaxIdle + 2).Select(rows => pool.Rent(model, DecodeSteps.FixedShape, rows, 100)).ToList();
        foreach (var c in rented) pool.Return(c);
        Assert.Equal(DecodeContexts.MaxIdle, pool.Idle);
        // The first two returned (1 and 2 rows) went; 3 rows is still there.
        Assert.Same(rented[2], pool.Rent(model, DecodeSteps.FixedShape, 3, 200));
        Assert.NotSame(rented[0], pool.Rent(model, DecodeSteps.FixedShape, 1, 100));
        // Another mode or bucket never shares.
        Assert.NotSame(rented[3], pool.Rent(model, DecodeSteps.CudaGraph, 4, 100));
        Assert.NotSame(rented[4], pool.Rent(model, DecodeSteps.FixedShape, 5, 300));
        Assert.Equal(256, DecodeContexts.Bucket(1, 4096));
        Assert.Equal(512, DecodeContexts.Bucket(257, 4096));
        Assert.Equal(4096, DecodeContexts.Bucket(4090, 4096));
    }

    [Fact]
    public void IdleContextsStayWithinTheirByteBudget()
    {
        using var model = ModelLoader.Load(Golden.TinyDir(Variant), Golden.Float32);
        var pool = model.DecodeContexts;
        Assert.Equal(DecodeContexts.DefaultMaxIdleBytes, pool.MaxIdleBytes);
        var small = pool.Rent(model, DecodeSteps.FixedShape, 1, 100);     // 256 positions
        var large = pool.Rent(model, DecodeSteps.FixedShape, 2, 600);     // 2 rows × 768 positions: 6× the small one
        long smallBytes = small.Cache.Bytes, largeBytes = large.Cache.Bytes;
        Assert.Equal(small.Cache.BytesPerPosition * 256, smallBytes);
        Assert.Equal(6 * smallBytes, largeBytes);
        pool.MaxIdleBytes = largeBytes + smallBytes / 2;
        pool.Return(small);
        pool.Return(large);                       // both would pass the budget: the least recently used (small) goes
        Assert.Equal(1, pool.Idle);
        Assert.Equal(largeBytes, pool.IdleBytes);
        Assert.Same(large, pool.Rent(model, DecodeSteps.FixedShape, 2, 600));
        pool.MaxIdleBytes = largeBytes - 1;       // a context larger than the budget is freed when it comes back
        pool.Return(large);
        Assert.Equal(0, pool.Idle);
        var again = pool.Rent(model, DecodeSteps.FixedShape, 1, 100);
        pool.Return(again);
        Assert.Equal(1, pool.Idle);
        pool.MaxIdleBytes = 0;                    // lowering the budget frees what no longer fits at once
        Assert.Equal(0, pool.Idle);
        Assert.Throws<ArgumentOutOfRangeException>(() => pool.MaxIdleBytes = -1);
    }

    [Fact]
    public void AContextServesOnlyRequestsUnderTheInt8RouteItWasMadeWith()
    {
        // A CUDA graph records the int8 route in force (the kernel by columns, by rows, or dequantising for cuBLAS when a
        // benchmark or test switches on its thread): a request under another route must not replay it.
        using var model = ModelLoader.Load(Golden.TinyDir(Variant), Golden.Float32);
        var pool = model.DecodeContexts;
        var byColumns = pool.Rent(model, DecodeSteps.CudaGraph, 2, 100);
        Assert.Equal(Molmo.Runtime.Int8Route.ByColumns, byColumns.Int8Route);
        pool.Return(byColumns);
        var others = new List<DecodeContexts.Context>();
        foreach (var (enabled, split, route) in new[] { (false, true, Molmo.Runtime.Int8Route.Dequantised), (true, false, Molmo.Runtime.Int8Route.ByRows) })
        {
            Molmo.Runtime.CudaQuantGemv.Enabled = enabled;
            Molmo.Runtime.CudaQuantGemv.SplitColumns = split;
            try
            {
                var other = pool.Rent(model, DecodeSteps.CudaGraph, 2, 100);
                Assert.DoesNotContain(other, others.Append(byColumns));
                Assert.Equal(route, other.Int8Route);
                others.Add(other);
                pool.Return(other);
                Assert.Same(other, pool.Rent(model, DecodeSteps.CudaGraph, 2, 100));   // the same route: the same context
                pool.Return(other);
            }
            finally { Molmo.Runtime.CudaQuantGemv.Enabled = true; Molmo.Runtime.CudaQuantGemv.SplitColumns = true; }
        }
        Assert.Same(byColumns, pool.Rent(model, DecodeSteps.CudaGraph, 2, 100));
        Assert.Equal(3, pool.Created);
    }
}
