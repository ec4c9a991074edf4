using Molmo.Generation;
using Molmo.TestSupport;

namespace Molmo.Tests.Generation;

/// <summary>Streaming, cancellation and stop conditions of the pipeline, on the random-weight demo model.</summary>
public class PipelineStreamingTests : IClassFixture<PipelineStreamingTests.DemoPipeline>
{
    public sealed class DemoPipeline : IDisposable
    {
        public MolmoPipeline Pipeline { get; } = MolmoPipeline.Load(DemoModel.Create(TestPaths.NewTempDir("molmo-demo-stream")));
        public void Dispose() => Pipeline.Dispose();
    }

    readonly MolmoPipeline _p;
    public PipelineStreamingTests(DemoPipeline fixture) => _p = fixture.Pipeline;

    [Fact]
    public async Task StreamedChunksEqualTheDecodedAnswer()
    {
        var stats = new AskStats();
        var chunks = new List<string>();
        var req = new AskRequest { Prompt = "Describe a cat.", Generation = new GenerationOptions { MaxNewTokens = 12, StopOnEos = false } };
        await foreach (var c in _p.AskStreamingAsync(req, stats)) chunks.Add(c);
        Assert.Equal(12, stats.GeneratedTokens);
        Assert.Equal(FinishReason.MaxTokens, stats.FinishReason);
        var answer = await _p.AskAsync(req);
        Assert.Equal(answer.Text, string.Concat(chunks));
        Assert.True(stats.Prefill > TimeSpan.Zero);
    }

    [Fact]
    public async Task BatchedAnswersEqualOneAtATime()
    {
        var image = Molmo.Imaging.ImageDecoder.Decode(DemoModel.DrawTestImage(320, 240));
        var requests = new[]
        {
            new AskRequest { Prompt = "Describe a cat.", Generation = new GenerationOptions { MaxNewTokens = 12, StopOnEos = false } },
            new AskRequest { Image = image, Prompt = "Point to the circle.", Generation = new GenerationOptions { MaxNewTokens = 5, StopOnEos = false } },
            new AskRequest { Prompt = "Count.", Generation = new GenerationOptions { MaxNewTokens = 9, Temperature = 1, Seed = 3, StopOnEos = false } },
        };
        var finished = new List<int>();
        var batch = await _p.AskBatchAsync(requests, maxBatch: 2, onAnswer: (i, _) => finished.Add(i));
        for (int i = 0; i < requests.Length; i++)
        {
            var alone = await _p.AskAsync(requests[i]);
            Assert.Equal(alone.Text, batch[i].Text);
            Assert.Equal(alone.Stats.GeneratedTokens, batch[i].Stats.GeneratedTokens);
            Assert.Equal(alone.Stats.PromptTokens, batch[i].Stats.PromptTokens);
            Assert.Equal(FinishReason.MaxTokens, batch[i].Stats.FinishReason);
        }
        Assert.Equal(320, batch[1].ImageWidth);
        Assert.Equal([0, 1, 2], finished.Order());

        // A stop string ends its own request only, and is not returned.
        var text = batch[0].Text;
        var stopAt = text.Substring(text.Length / 2, Math.Min(3, text.Length - text.Length / 2));
        var stopped = await _p.AskBatchAsync([requests[0] with { Generation = requests[0].Generation with { StopStrings = [stopAt] } }, requests[1]]);
        Assert.Equal(FinishReason.StopString, stopped[0].Stats.FinishReason);
        Assert.Equal(text[..text.IndexOf(stopAt, StringComparison.Ordinal)], stopped[0].Text);
        Assert.Equal(batch[1].Text, stopped[1].Text);
        await Assert.ThrowsAsync<ArgumentException>(() => _p.AskBatchAsync(requests, maxBatch: 0));
    }

    [Fact]
    public async Task CancellationStopsGenerationPromptly()
    {
        using var cts = new CancellationTokenSource();
        // An image prompt and a long budget: far more work than the reader needs to see two chunks and cancel.
        var image = Molmo.Imaging.ImageDecoder.Decode(DemoModel.DrawTestImage(640, 480));
        var req = new AskRequest { Image = image, Prompt = "Count to a thousand.", Generation = new GenerationOptions { MaxNewTokens = 3000, StopOnEos = false } };
        var stats = new AskStats();
        int seen = 0;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var _ in _p.AskStreamingAsync(req, stats, cts.Token))
                if (++seen == 2) cts.Cancel();
        });
        Assert.True(stats.GeneratedTokens < 3000);
        Assert.Equal(FinishReason.Cancelled, stats.FinishReason);

        // A token cancelled before the call: nothing is generated.
        var before = new AskStats();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var _ in _p.AskStreamingAsync(req, before, cts.Token)) { }
        });
        Assert.Equal(0, before.GeneratedTokens);
    }

    [Fact]
    public async Task AReaderThatStopsEarlyStopsGeneration()
    {
        var req = new AskRequest { Prompt = "Count to a thousand.", Generation = new GenerationOptions { MaxNewTokens = 2000, StopOnEos = false } };
        var stats = new AskStats();
        await foreach (var _ in _p.AskStreamingAsync(req, stats)) break;
        Assert.Equal(FinishReason.Cancelled, stats.FinishReason);
        Assert.True(stats.GeneratedTokens < 2000);
    }

    [Fact]
    public async Task AStopStringEndsTheAnswerBeforeIt()
    {
        var req = new AskRequest { Prompt = "Say something.", Generation = new GenerationOptions { MaxNewTokens = 10, StopOnEos = false } };
        var full = (await _p.AskAsync(req)).Text;
        Assert.True(full.Length > 4, full);
        var stop = full.Substring(full.Length / 2, 2);
        var cut = await _p.AskAsync(req with { Generation = req.Generation with { StopStrings = [stop] } });
        Assert.Equal(full[..full.IndexOf(stop, StringComparison.Ordinal)], cut.Text);
        Assert.Equal(FinishReason.StopString, cut.Stats.FinishReason);
    }

    [Fact]
    public async Task MultiTurnPromptsPutEosAfterEachAssistantTurn()
    {
        var req = new AskRequest { Messages = ["Hi", "Hello!", "How are you?"], Generation = new GenerationOptions { MaxNewTokens = 2 } };
        var processed = _p.Prepare(req);
        var eos = _p.Processor.SpecialTokens.Eos;
        Assert.Equal(2, processed.InputIds.Count(id => id == eos));   // the BOS (= EOS id) and the one after "Hello!"
        Assert.False(string.IsNullOrEmpty((await _p.AskAsync(req)).Text));
    }
}
