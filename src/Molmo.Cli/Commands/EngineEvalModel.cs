using Molmo.Eval.Runner;
using Molmo.Generation;
using Molmo.Imaging;
using Molmo.Runtime;

namespace Molmo.Cli.Commands;

/// <summary>The engine behind <c>molmo eval run</c>: a loaded <see cref="MolmoPipeline"/> answering greedy, as the reference evaluates.</summary>
public sealed class EngineEvalModel : IEvalModel, IDisposable
{
    readonly MolmoPipeline _pipeline;

    public string Name { get; }

    EngineEvalModel(MolmoPipeline pipeline, string name) { _pipeline = pipeline; Name = name; }

    public static IEvalModel Create(EvalModelSpec spec)
    {
        var placement = TorchRuntime.ParsePlacement(spec.DType, TorchRuntime.ParseDevice(spec.Device));
        var options = new PipelineOptions
        {
            DType = placement.DType, Device = placement.Device, Int8 = placement.Int8Decoder, Int4 = placement.Int4Decoder,
            PrefixCacheBytes = spec.PrefixCache ? PrefixCache.DefaultMaxBytes : 0,
        };
        var pipeline = ProgressUi.WithLoadProgress("loading weights", p => MolmoPipeline.Load(spec.ModelDir, options, p));
        return new EngineEvalModel(pipeline, Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(spec.ModelDir))));
    }

    public async Task<string> GenerateAsync(EvalRequest request, CancellationToken ct)
    {
        var answer = await _pipeline.AskAsync(ToAsk(request), ct).ConfigureAwait(false);
        return answer.Text.Trim();
    }

    /// <summary>The engine's batched decoding: up to <paramref name="batch"/> requests per forward pass, same answers.</summary>
    public Task GenerateBatchAsync(IReadOnlyList<EvalRequest> requests, int batch, Action<int, string> onAnswer, CancellationToken ct) =>
        _pipeline.AskBatchAsync(requests.Select(ToAsk).ToList(), batch, (i, answer) => onAnswer(i, answer.Text.Trim()), ct);

    static AskRequest ToAsk(EvalRequest request)
    {
        var image = request.ImageBytes is { } bytes ? ImageDecoder.Decode(bytes, sourceName: request.Id)
                  : request.ImagePath is { } path ? ImageDecoder.Decode(path)
                  : null;
        // The runner's prompt already carries the task's style prefix ("vqa2: …"), so no style is added here.
        return new AskRequest
        {
            Image = image,
            Prompt = request.Prompt,
            Generation = new GenerationOptions { MaxNewTokens = request.MaxNewTokens },
        };
    }

    public void Dispose()
    {
        if (_pipeline.Prefixes is { Hits: > 0 } p)
            Console.Error.WriteLine(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"prefix cache: {p.Hits} of {p.Hits + p.Misses} prompts continued from a stored one ({p.ReusedTokens:N0} prompt tokens not computed again)"));
        _pipeline.Dispose();
    }
}
