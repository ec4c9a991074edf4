using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Molmo.Checkpoints;
using Molmo.Generation;
using Molmo.Imaging;
using Molmo.Model;
using Molmo.Points;
using Molmo.Text;
using static TorchSharp.torch;

namespace Molmo;

/// <summary>How to load a model directory.</summary>
public sealed record PipelineOptions
{
    public ScalarType DType { get; init; } = ScalarType.Float32;
    public Device Device { get; init; } = CPU;
    /// <summary>Store the decoder's matrices as int8 (weight-only, per-row scales), quantised while loading.</summary>
    public bool Int8 { get; init; }
    /// <summary>Store the decoder's matrices as int4 (weight-only, a scale per 64 columns), quantised while loading.</summary>
    public bool Int4 { get; init; }
    public ImageCropperOptions? Cropper { get; init; }
    /// <summary>How greedy decode steps are issued (<see cref="Generation.DecodeSteps"/>; default: CUDA graphs on a GPU,
    /// eager steps elsewhere).</summary>
    public DecodeSteps DecodeSteps { get; init; } = DecodeSteps.Auto;
    /// <summary>
    /// The most the prefix cache may hold on the model's device (<see cref="PrefixCache"/>: a later prompt about the same image,
    /// or the next turn of a conversation, computes only what is new); 0 switches it off.
    /// </summary>
    public long PrefixCacheBytes { get; init; } = PrefixCache.DefaultMaxBytes;
}

/// <summary>A question about an image (or text only).</summary>
public sealed record AskRequest
{
    public RgbImage? Image { get; init; }
    /// <summary>The user's prompt; for multi-turn, use <see cref="Messages"/> instead.</summary>
    public string Prompt { get; init; } = "";
    /// <summary>user, assistant, user, … ending with the message to answer (overrides <see cref="Prompt"/>).</summary>
    public IReadOnlyList<string>? Messages { get; init; }
    /// <summary>Style tag such as "vqa2" or "point_count" (spec §4.4); none for natural prompts.</summary>
    public string? Style { get; init; }
    public GenerationOptions Generation { get; init; } = new();
}

/// <summary>Timings and counts of one answer.</summary>
public sealed class AskStats
{
    public int PromptTokens { get; set; }
    /// <summary>Prompt positions taken from the prefix cache (an earlier prompt with the same image and beginning) instead of
    /// computed.</summary>
    public int CachedPromptTokens { get; set; }
    public int GeneratedTokens { get; set; }
    public int Crops { get; set; }
    public TimeSpan Preprocess { get; set; }
    /// <summary>Time to the first token (prefill, images included).</summary>
    public TimeSpan Prefill { get; set; }
    public TimeSpan Decode { get; set; }
    /// <summary>How the decode steps were issued (<see cref="Generation.DecodeSteps.CudaGraph"/>: each one graph replay).</summary>
    public DecodeSteps DecodeSteps { get; set; } = DecodeSteps.Eager;
    public FinishReason FinishReason { get; set; }
    public double DecodeTokensPerSecond => GeneratedTokens > 1 && Decode > TimeSpan.Zero ? (GeneratedTokens - 1) / Decode.TotalSeconds : 0;
}

/// <summary>A complete answer: text, the points in it (percent and pixels of the original image) and a count if it states one.</summary>
public sealed record MolmoAnswer(string Text, IReadOnlyList<MolmoPoint> Points, int? Count, AskStats Stats, int ImageWidth, int ImageHeight);

/// <summary>
/// The one-call facade: load a model directory (config, tokenizer, weights), ask about an image, get streamed text or a
/// full answer with points. Generation runs on a background thread; streaming respects UTF-8/BPE boundaries and stop strings.
/// </summary>
public sealed class MolmoPipeline : IDisposable
{
    public MolmoForCausalLM Model { get; }
    public MolmoTokenizer Tokenizer { get; }
    public MolmoProcessor Processor { get; }
    public MolmoConfig Config => Model.Config;
    /// <summary>How greedy decode steps are issued on a GPU, for single and batched requests (see <see cref="Generation.DecodeSteps"/>).</summary>
    public DecodeSteps DecodeSteps { get; set; } = DecodeSteps.Auto;

    /// <summary>
    /// The prompts already prefilled, which later requests with the same image and beginning continue from (null: switched
    /// off). Owned by the pipeline; <see cref="PrefixCache.Clear"/> empties it.
    /// </summary>
    public PrefixCache? Prefixes { get; }

    /// <param name="prefixCacheBytes">The prefix cache's budget on the model's device (<see cref="PrefixCache"/>); 0: none.</param>
    public MolmoPipeline(MolmoForCausalLM model, MolmoTokenizer tokenizer, ImageCropperOptions? cropper = null,
                         long prefixCacheBytes = PrefixCache.DefaultMaxBytes)
    {
        if (prefixCacheBytes < 0) throw new ArgumentOutOfRangeException(nameof(prefixCacheBytes), "the prefix cache's budget is 0 (off) or more bytes");
        Model = model; Tokenizer = tokenizer;
        var special = SpecialIds.Resolve(model.Config, tokenizer);
        Processor = new MolmoProcessor(tokenizer, special, cropper);
        Prefixes = prefixCacheBytes > 0 ? new PrefixCache(model, prefixCacheBytes) : null;
    }

    public static MolmoPipeline Load(string dir, PipelineOptions? options = null, IProgress<LoadProgress>? progress = null, CancellationToken ct = default)
    {
        options ??= new PipelineOptions();
        var tokenizer = MolmoTokenizer.FromDirectory(dir);
        var model = ModelLoader.Load(dir, new ModelPlacement(options.DType, options.Device, options.Int8) { Int4Decoder = options.Int4 }, progress, ct);
        return new MolmoPipeline(model, tokenizer, options.Cropper, options.PrefixCacheBytes) { DecodeSteps = options.DecodeSteps };
    }

    public ProcessedInputs Prepare(AskRequest request) => request.Messages is { } msgs
        ? Processor.Process(request.Image, msgs, request.Style)
        : Processor.Process(request.Image, request.Prompt, request.Style);

    /// <summary>Streams the answer's text as it is generated.</summary>
    public async IAsyncEnumerable<string> AskStreamingAsync(AskRequest request, AskStats? stats = null,
                                                            [EnumeratorCancellation] CancellationToken ct = default)
    {
        stats ??= new AskStats();
        // A bounded channel: generation runs ahead of a slow reader by at most StreamLead pieces of text, so a reader that stops
        // early always finds the producer still there to cancel (with an unbounded one a fast model could finish first).
        var channel = Channel.CreateBounded<string>(new BoundedChannelOptions(StreamLead) { SingleReader = true, SingleWriter = true });
        // The producer stops when the caller cancels, and also when the caller stops reading early.
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var producer = Task.Factory.StartNew(() =>
        {
            try { Produce(request, stats, channel.Writer, linked.Token); }
            finally { channel.Writer.TryComplete(); }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);   // its own thread: it blocks on a full channel
        bool readAll = false;
        try
        {
            await foreach (var chunk in channel.Reader.ReadAllAsync(CancellationToken.None).ConfigureAwait(false))
                yield return chunk;
            readAll = true;
        }
        finally
        {
            if (!readAll)
            {
                linked.Cancel();
                try { await producer.ConfigureAwait(false); } catch (OperationCanceledException) { }
            }
        }
        await producer.ConfigureAwait(false);   // rethrows a failure or the caller's cancellation
    }

    /// <summary>Generates the whole answer and parses its points and count.</summary>
    public async Task<MolmoAnswer> AskAsync(AskRequest request, CancellationToken ct = default)
    {
        var stats = new AskStats();
        var sb = new System.Text.StringBuilder();
        await foreach (var chunk in AskStreamingAsync(request, stats, ct).ConfigureAwait(false)) sb.Append(chunk);
        return Answer(request, sb.ToString(), stats);
    }

    /// <summary>The answer's text with its points and count parsed, in the request's image size.</summary>
    static MolmoAnswer Answer(AskRequest request, string text, AskStats stats) =>
        new(text, PointParser.Parse(text), PointParser.ExtractCount(text), stats, request.Image?.Width ?? 0, request.Image?.Height ?? 0);

    /// <summary>Preprocesses a request into model inputs (in the caller's dispose scope), recording its preprocessing stats.</summary>
    ModelInputs Prepare(AskRequest request, AskStats stats)
    {
        var sw = Stopwatch.StartNew();
        var processed = Prepare(request);
        stats.Preprocess = sw.Elapsed;
        stats.PromptTokens = processed.InputIds.Length;
        stats.Crops = processed.Image?.NumCrops ?? 0;
        return processed.ToModelInputs();
    }

    /// <summary>
    /// Generated ids to answer text: streaming detokenisation (special tokens dropped) through the request's stop strings,
    /// which are held back until they can be ruled out and never returned.
    /// </summary>
    sealed class AnswerText(MolmoTokenizer tokenizer, IReadOnlyList<string> stopStrings)
    {
        readonly StreamingDetokenizer _detok = tokenizer.CreateStreamingDetokenizer(skipSpecialTokens: true);
        readonly StopStringFilter _stop = new(stopStrings);

        /// <summary>Whether a stop string has appeared (the answer ends before it).</summary>
        public bool Stopped => _stop.Stopped;

        /// <summary>The text that token <paramref name="id"/> makes final (often empty).</summary>
        public string Push(int id) => _stop.Push(_detok.Push(id));

        /// <summary>What is still held back, at the end of generation.</summary>
        public string Finish() => _stop.Stopped ? "" : _stop.Push(_detok.Flush()) + _stop.Flush();
    }

    /// <summary>
    /// Answers several requests together: up to <paramref name="maxBatch"/> are decoded by one forward pass per step
    /// (<see cref="BatchGenerator"/>), and a row whose answer is finished takes the next waiting request. The answers equal
    /// those of <see cref="AskAsync"/> one at a time (greedy; seeded sampling likewise; in bf16 and int8 on the CPU up to
    /// near-ties, see <see cref="BatchGenerator"/>), each with its own options and stop strings. Every request is
    /// preprocessed first, so pass as many as may be held in memory at once (a 7B-D request with 12 crops holds about 16 MB
    /// of pixels). <paramref name="onAnswer"/> is called with (index, answer) as each one finishes.
    /// In the stats, Prefill is each request's own prefill and Decode the time from its first token to its last, while other
    /// requests were decoded alongside.
    /// </summary>
    public Task<IReadOnlyList<MolmoAnswer>> AskBatchAsync(IReadOnlyList<AskRequest> requests, int maxBatch = 8,
                                                          Action<int, MolmoAnswer>? onAnswer = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(requests);
        if (maxBatch < 1) throw new ArgumentException($"the batch must hold at least one request (got {maxBatch})", nameof(maxBatch));
        foreach (var r in requests) r.Generation.Validate();
        return Task.Factory.StartNew(() => AskBatch(requests, maxBatch, onAnswer, ct), ct, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    IReadOnlyList<MolmoAnswer> AskBatch(IReadOnlyList<AskRequest> requests, int maxBatch, Action<int, MolmoAnswer>? onAnswer, CancellationToken ct)
    {
        int n = requests.Count;
        var stats = requests.Select(_ => new AskStats()).ToArray();
        var answers = new MolmoAnswer[n];
        if (n == 0) return answers;
        using var scope = NewDisposeScope();
        var inputs = new ModelInputs[n];
        for (int i = 0; i < n; i++)
        {
            ct.ThrowIfCancellationRequested();
            inputs[i] = Prepare(requests[i], stats[i]);
        }
        int eos = Processor.SpecialTokens.Eos;
        var text = requests.Select(r => new AnswerText(Tokenizer, r.Generation.StopStrings)).ToArray();
        var sb = requests.Select(_ => new System.Text.StringBuilder()).ToArray();
        var clock = Stopwatch.StartNew();
        var started = new TimeSpan[n];
        var firstToken = new TimeSpan[n];
        var generator = new BatchGenerator(Model, eos) { Steps = DecodeSteps, Prefixes = Prefixes };
        generator.Generate(inputs, requests.Select(r => r.Generation).ToList(), maxBatch,
            onToken: (i, id) =>
            {
                if (++stats[i].GeneratedTokens == 1)
                {
                    firstToken[i] = clock.Elapsed;
                    stats[i].Prefill = firstToken[i] - started[i];
                    stats[i].CachedPromptTokens = generator.ReusedPromptTokens[i];
                }
                if (id == eos && requests[i].Generation.StopOnEos) return true;   // EOS ends it, never shown
                sb[i].Append(text[i].Push(id));
                return !text[i].Stopped;
            },
            ct: ct,
            onStart: i => started[i] = clock.Elapsed,
            onFinish: (i, reason) =>
            {
                stats[i].Decode = clock.Elapsed - firstToken[i];
                stats[i].DecodeSteps = generator.StepsUsed;
                stats[i].FinishReason = reason;
                answers[i] = Answer(requests[i], sb[i].Append(text[i].Finish()).ToString(), stats[i]);
                onAnswer?.Invoke(i, answers[i]);
            });
        return answers;
    }

    void Produce(AskRequest request, AskStats stats, ChannelWriter<string> writer, CancellationToken ct)
    {
        using var scope = NewDisposeScope();
        var inputs = Prepare(request, stats);
        var text = new AnswerText(Tokenizer, request.Generation.StopStrings);
        var gen = new Molmo.Generation.Generator(Model, Processor.SpecialTokens.Eos) { Steps = DecodeSteps, Prefixes = Prefixes };
        var sw = Stopwatch.StartNew();
        stats.FinishReason = FinishReason.MaxTokens;
        try
        {
            foreach (var token in gen.Generate(inputs, request.Generation, keepLogits: false, ct))
            {
                if (token.Step == 0) { stats.Prefill = sw.Elapsed; stats.CachedPromptTokens = gen.ReusedPromptTokens; sw.Restart(); }
                stats.GeneratedTokens++;
                if (token.Id == Processor.SpecialTokens.Eos && request.Generation.StopOnEos) { stats.FinishReason = FinishReason.Eos; break; }
                var piece = text.Push(token.Id);
                if (piece.Length > 0) Write(writer, piece, ct);
                if (text.Stopped) { stats.FinishReason = FinishReason.StopString; break; }
            }
        }
        catch (OperationCanceledException)
        {
            stats.FinishReason = FinishReason.Cancelled;
            throw;
        }
        finally
        {
            stats.Decode = sw.Elapsed;
            stats.DecodeSteps = gen.StepsUsed;   // set once the steps began, so read once here
        }
        var tail = text.Finish();
        if (tail.Length > 0) Write(writer, tail, ct);
    }

    /// <summary>Pieces of text generation may run ahead of the reader of <see cref="AskStreamingAsync"/>.</summary>
    public const int StreamLead = 64;

    static void Write(ChannelWriter<string> writer, string text, CancellationToken ct)
    {
        if (!writer.TryWrite(text)) writer.WriteAsync(text, ct).AsTask().GetAwaiter().GetResult();
    }

    public void Dispose()
    {
        Prefixes?.Dispose();
        Model.Dispose();
    }
}
