using Molmo.Checkpoints;
using Molmo.Generation;
using Molmo.Model;
using static TorchSharp.torch;

namespace Molmo.Tests.Model;

/// <summary>
/// Greedy decoding with step t+1 queued before step t's tokens are read (the GPU default) gives the tokens, lengths, finish
/// reasons and callbacks of reading every step at once: through EOS, token budgets, the model's last position, refilled rows
/// and a caller ending a request. Forced on here, on the CPU, where the same code runs with plain copies.
/// </summary>
public class PipelinedDecodeTests
{
    const string Variant = "tiny_d_style";

    static MolmoForCausalLM LoadModel() => ModelLoader.Load(Golden.TinyDir(Variant), Golden.Float32);

    static int[] Run(MolmoForCausalLM model, int eos, ModelInputs inputs, GenerationOptions o, bool pipelined) =>
        new Molmo.Generation.Generator(model, eos) { Pipelined = pipelined }.Generate(inputs, o).Select(t => t.Id).ToArray();

    [Fact]
    public void OneSequenceGivesTheSameTokensAndStops()
    {
        using var model = LoadModel();
        using var scope = NewDisposeScope();
        int eos = MolmoConfig.Load(Golden.TinyDir(Variant)).SpecialTokens!.Eos;
        var inputs = TinyInputs.Load(Variant, "img_100x100");
        var reference = Run(model, eos, inputs, new GenerationOptions { MaxNewTokens = 12, StopOnEos = false }, pipelined: false);
        Assert.Equal(12, reference.Length);
        foreach (int max in new[] { 1, 2, 3, 12 })
        {
            var o = new GenerationOptions { MaxNewTokens = max, StopOnEos = false };
            Assert.Equal(reference.Take(max), Run(model, eos, inputs, o, pipelined: true));
        }
        // A stop on the fourth token (taken as the EOS id here): both stop there and yield it.
        int stopId = reference[3];
        int firstStop = Array.IndexOf(reference, stopId);
        var stopped = Run(model, stopId, inputs, new GenerationOptions { MaxNewTokens = 12 }, pipelined: true);
        Assert.Equal(reference.Take(firstStop + 1), stopped);
        Assert.Equal(stopped, Run(model, stopId, inputs, new GenerationOptions { MaxNewTokens = 12 }, pipelined: false));
    }

    [Theory]
    [InlineData("img_100x100")]
    [InlineData("text_only")]
    public void FixedShapeStepsGiveTheSameTokens(string @case)
    {
        // The step a CUDA graph records (attention over the whole cache, masked; ids and positions kept on the device), run
        // eagerly: the same greedy tokens as the usual step, and the golden ones, also when the cache ends at the model's last position.
        using var model = LoadModel();
        using var scope = NewDisposeScope();
        var dir = Golden.TinyDir(Variant);
        var inputs = TinyInputs.Load(Variant, @case);
        var golden = Golden.GreedyIds(Path.Combine(dir, $"{@case}.greedy.json")).Select(x => (int)x).ToArray();
        var o = new GenerationOptions { MaxNewTokens = golden.Length, StopOnEos = false };
        var fixedShape = new Molmo.Generation.Generator(model, -1) { Pipelined = true, Steps = DecodeSteps.FixedShape }.Generate(inputs, o).Select(t => t.Id);
        Assert.Equal(golden, fixedShape);
        int room = model.Config.MaxPositionEmbeddings - (int)inputs.InputIds.shape[1];
        var toTheEnd = new GenerationOptions { MaxNewTokens = room + 3, StopOnEos = false };
        Assert.Equal(Run(model, -1, inputs, toTheEnd, pipelined: false),
            new Molmo.Generation.Generator(model, -1) { Pipelined = true, Steps = DecodeSteps.FixedShape }.Generate(inputs, toTheEnd).Select(t => t.Id));
    }

    [Theory]
    [InlineData("tiny_d_style", "bf16")]
    [InlineData("tiny_d_style", "int8")]
    [InlineData("tiny_o_style", "fp32")]
    [InlineData("tiny_o_style", "bf16")]
    public void FixedShapeStepsMatchEagerStepsInEveryDtypeAndLayout(string variant, string dtype)
    {
        // bf16 and int8 (weight-only) models and the OLMo-style layout (q/k norms): fixed-shape steps against eager ones.
        using var model = ModelLoader.Load(Golden.TinyDir(variant), Molmo.Runtime.TorchRuntime.ParsePlacement(dtype, Golden.TestDevice));
        AssertStepsMatchEagerSteps(model, variant, DecodeSteps.FixedShape);
    }

    /// <summary>A batch of an image and a text request (one row at a time, then both together) and the image request alone,
    /// decoded with <paramref name="steps"/> and with eager steps, both queued: the same tokens.</summary>
    static void AssertStepsMatchEagerSteps(MolmoForCausalLM model, string variant, DecodeSteps steps)
    {
        using var scope = NewDisposeScope();
        var requests = new[] { "img_100x100", "text_only" }.Select(c => TinyInputs.Load(variant, c)).ToList();
        var o = new GenerationOptions { MaxNewTokens = 10, StopOnEos = false };
        foreach (int rows in new[] { 1, 2 })
        {
            var eager = new BatchGenerator(model, -1) { Pipelined = true, Steps = DecodeSteps.Eager }.Generate(requests, [o, o], rows);
            var other = new BatchGenerator(model, -1) { Pipelined = true, Steps = steps }.Generate(requests, [o, o], rows);
            for (int i = 0; i < 2; i++) Assert.Equal(eager[i].Ids, other[i].Ids);
        }
        var one = new Molmo.Generation.Generator(model, -1) { Pipelined = true, Steps = DecodeSteps.Eager };
        var oneOther = new Molmo.Generation.Generator(model, -1) { Pipelined = true, Steps = steps };
        Assert.Equal(one.Generate(requests[0], o).Select(t => t.Id), oneOther.Generate(requests[0], o).Select(t => t.Id));
    }

    [Fact]
    public void CudaGraphStepsGiveTheSameTokensOrFallBackToEagerOnes()
    {
        // On CUDA the recorded graph runs (or, where the shim cannot be built, eager steps after a note); elsewhere there are
        // no graphs, and decoding goes on eagerly.
        using var model = LoadModel();
        using var scope = NewDisposeScope();
        var inputs = TinyInputs.Load(Variant, "img_100x100");
        var o = new GenerationOptions { MaxNewTokens = 12, StopOnEos = false };
        string? why = Molmo.Runtime.CudaGraph.Unavailable(model.Placement.Device);
        if (model.Placement.Device.type == TorchSharp.DeviceType.CPU) Assert.Contains("CUDA device", why);
        else Console.Error.WriteLine($"CUDA graphs here: {why ?? "available"}");
        Assert.Equal(Run(model, -1, inputs, o, pipelined: false),
            new Molmo.Generation.Generator(model, -1) { Pipelined = true, Steps = DecodeSteps.CudaGraph }.Generate(inputs, o).Select(t => t.Id));
    }

    [Theory]
    [InlineData("tiny_d_style", "bf16")]
    [InlineData("tiny_d_style", "int8")]
    [InlineData("tiny_o_style", "fp32")]
    public void DefaultStepsMatchEagerStepsAndAreGraphsOnCuda(string variant, string dtype)
    {
        // The default (DecodeSteps.Auto): a recorded CUDA graph on a GPU (int8 included: its kernel is recorded into the
        // graph), eager steps elsewhere; the tokens of eager steps either way.
        using var model = ModelLoader.Load(Golden.TinyDir(variant), Molmo.Runtime.TorchRuntime.ParsePlacement(dtype, Golden.TestDevice));
        Assert.Equal(DecodeSteps.Auto, new BatchGenerator(model, -1).Steps);
        Assert.Equal(DecodeSteps.Auto, new Molmo.Generation.Generator(model, -1).Steps);
        long launches = Molmo.Runtime.CudaQuantGemv.Launches;
        AssertStepsMatchEagerSteps(model, variant, DecodeSteps.Auto);
        var device = model.Placement.Device;
        if (device.type != TorchSharp.DeviceType.CUDA)
        {
            Assert.Equal(DecodeSteps.Eager, DecodeSteps.Auto.On(device));
            Assert.Equal(0, model.DecodeContexts.Created);   // eager steps need no kept context
            return;
        }
        if (Molmo.Runtime.CudaGraph.Unavailable(device) is { } why)
        {
            Console.Error.WriteLine($"CUDA graphs here: {why}");
            return;
        }
        // Contexts of one row and of two (the single request may take over the one-row batch's), each with its graph.
        Assert.True(model.DecodeContexts.Created >= 2);
        Assert.Equal(model.DecodeContexts.Created, model.DecodeContexts.GraphsRecorded);
        if (dtype == "int8")
            Assert.True(Molmo.Runtime.CudaQuantGemv.Launches > launches, "the int8 kernel was not used");
    }

    [Fact]
    public void StepsUsedSayHowTheStepsWereIssued()
    {
        using var model = LoadModel();
        using var scope = NewDisposeScope();
        var requests = new[] { "img_100x100", "text_only" }.Select(c => TinyInputs.Load(Variant, c)).ToList();
        var o = new GenerationOptions { MaxNewTokens = 4, StopOnEos = false };
        bool cuda = model.Placement.Device.type == TorchSharp.DeviceType.CUDA;
        bool graphs = cuda && Molmo.Runtime.CudaGraph.Unavailable(model.Placement.Device) is null;
        var cases = new (bool Pipelined, DecodeSteps Asked, DecodeSteps Used)[]
        {
            (false, DecodeSteps.FixedShape, DecodeSteps.Eager),      // steps read back one at a time are always eager
            (true, DecodeSteps.Eager, DecodeSteps.Eager),
            (true, DecodeSteps.FixedShape, DecodeSteps.FixedShape),
            (true, DecodeSteps.CudaGraph, graphs ? DecodeSteps.CudaGraph : DecodeSteps.Eager),   // elsewhere: a note, eager steps
            (true, DecodeSteps.Auto, graphs ? DecodeSteps.CudaGraph : DecodeSteps.Eager),
        };
        foreach (var (pipelined, asked, used) in cases)
        {
            var one = new Molmo.Generation.Generator(model, -1) { Pipelined = pipelined, Steps = asked };
            Assert.Equal(4, one.Generate(requests[0], o).Count());
            Assert.Equal(used, one.StepsUsed);
            var batch = new BatchGenerator(model, -1) { Pipelined = pipelined, Steps = asked };
            batch.Generate(requests, [o, o], 2);
            Assert.Equal(used, batch.StepsUsed);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void TwoGenerationsEnumeratedInTurnLeaveGradientsOn(bool pipelined)
    {
        // Two answers streamed in turn on one thread (as Assert.Equal or Zip enumerates them): grad mode is per thread, and a
        // generation that held it off across its yields left it off for whatever ran next on that thread (training included).
        using var model = LoadModel();
        using var scope = NewDisposeScope();
        var inputs = TinyInputs.Load(Variant, "text_only");
        var o = new GenerationOptions { MaxNewTokens = 5, StopOnEos = false };
        Assert.True(is_grad_enabled());
        var a = new Molmo.Generation.Generator(model, -1) { Pipelined = pipelined }.Generate(inputs, o);
        var b = new Molmo.Generation.Generator(model, -1) { Pipelined = pipelined }.Generate(inputs, o);
        Assert.All(a.Zip(b), p => Assert.Equal(p.First.Id, p.Second.Id));
        Assert.True(is_grad_enabled());
    }

    [Fact]
    public void OneSequenceStopsAtTheModelsLastPosition()
    {
        using var model = LoadModel();
        using var scope = NewDisposeScope();
        var inputs = TinyInputs.Load(Variant, "text_only");
        int room = model.Config.MaxPositionEmbeddings - (int)inputs.InputIds.shape[1];
        var o = new GenerationOptions { MaxNewTokens = room + 5, StopOnEos = false };
        var sync = Run(model, -1, inputs, o, pipelined: false);
        Assert.Equal(room + 1, sync.Length);   // one token past the last position, as the reference allows
        Assert.Equal(sync, Run(model, -1, inputs, o, pipelined: true));
    }

    [Fact]
    public void ABatchStopsAtTheModelsLastPositionToo()
    {
        using var model = LoadModel();
        using var scope = NewDisposeScope();
        var requests = new[] { "text_only", "img_100x100" }.Select(c => TinyInputs.Load(Variant, c)).ToList();
        int room = model.Config.MaxPositionEmbeddings - (int)requests[0].InputIds.shape[1];
        var options = new[] { room + 5, 7 }.Select(m => new GenerationOptions { MaxNewTokens = m, StopOnEos = false }).ToList();
        var sync = new BatchGenerator(model, -1) { Pipelined = false }.Generate(requests, options, maxBatch: 2);
        Assert.Equal(room + 1, sync[0].Ids.Count);
        foreach (var steps in new[] { DecodeSteps.Eager, DecodeSteps.FixedShape })
        {
            var piped = new BatchGenerator(model, -1) { Pipelined = true, Steps = steps }.Generate(requests, options, maxBatch: 2);
            for (int i = 0; i < 2; i++) Assert.Equal(sync[i].Ids, piped[i].Ids);
        }
    }

    [Fact]
    public void BatchesWithRefillsStopsAndCallersGiveTheSameResults()
    {
        using var model = LoadModel();
        using var scope = NewDisposeScope();
        var cases = new[] { "text_only", "img_100x100", "img_480x640", "text_only", "img_100x100", "text_only" };
        var requests = cases.Select(c => TinyInputs.Load(Variant, c)).ToList();
        // Learn a token that some requests produce early, and use it as EOS so that rows finish at different steps by EOS as
        // well as by budget (1 token, a few, many).
        var probe = Run(model, -1, requests[1], new GenerationOptions { MaxNewTokens = 6, StopOnEos = false }, pipelined: false);
        int eos = probe[4];
        var options = new[] { 9, 5, 1, 14, 7, 3 }.Select(m => new GenerationOptions { MaxNewTokens = m }).ToList();
        foreach (int maxBatch in new[] { 1, 2, 3, 6 })
        {
            var sync = Record(pipelined: false, DecodeSteps.Eager);
            Assert.Contains(sync.Results, r => r.FinishReason == FinishReason.Eos);
            // Queued steps, eager and of fixed shape (the step a CUDA graph records, with rows switched on the device).
            foreach (var steps in new[] { DecodeSteps.Eager, DecodeSteps.FixedShape })
            {
                var piped = Record(pipelined: true, steps);
                for (int i = 0; i < requests.Count; i++)
                {
                    Assert.Equal(sync.Results[i].Ids, piped.Results[i].Ids);
                    Assert.Equal(sync.Results[i].FinishReason, piped.Results[i].FinishReason);
                    var alone = Run(model, eos, requests[i], options[i], pipelined: false);
                    Assert.Equal(i == 3 ? alone.Take(4) : alone, piped.Results[i].Ids);
                }
                // Each request sees the same callbacks in the same order. (Across requests the order may differ: a refilled
                // row joins the step after the one already queued when its row came free.)
                for (int i = 0; i < requests.Count; i++)
                    Assert.Equal(sync.Events.Where(e => e.Request == i), piped.Events.Where(e => e.Request == i));
            }

            (IReadOnlyList<BatchSequenceResult> Results, List<(int Request, string What)> Events) Record(bool pipelined, DecodeSteps steps)
            {
                var events = new List<(int, string)>();
                int tokensOf3 = 0;
                var results = new BatchGenerator(model, eos) { Pipelined = pipelined, Steps = steps }.Generate(requests, options, maxBatch,
                    onToken: (r, id) => { events.Add((r, $"{id}")); return r != 3 || ++tokensOf3 < 4; },   // request 3 ended by its caller
                    onStart: r => events.Add((r, "start")), onFinish: (r, why) => events.Add((r, $"finish {why}")));
                return (results, events);
            }
        }
    }

    [Fact]
    public void APipelinedBatchCanBeCancelled()
    {
        using var model = LoadModel();
        using var scope = NewDisposeScope();
        var requests = new[] { "text_only", "img_100x100" }.Select(c => TinyInputs.Load(Variant, c)).ToList();
        using var cts = new CancellationTokenSource();
        int seen = 0;
        var gen = new BatchGenerator(model, -1) { Pipelined = true };
        Assert.ThrowsAny<OperationCanceledException>(() => gen.Generate(requests, requests.Select(_ => new GenerationOptions { MaxNewTokens = 20 }).ToList(),
            maxBatch: 2, onToken: (_, _) => { if (++seen == 5) cts.Cancel(); return true; }, ct: cts.Token));
        // The model is usable afterwards.
        Assert.Equal(3, gen.Generate(requests, new GenerationOptions { MaxNewTokens = 3 })[0].Ids.Count);
    }
}
