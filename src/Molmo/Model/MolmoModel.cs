using Molmo.Checkpoints;
using static TorchSharp.torch;

namespace Molmo.Model;

/// <summary>
/// Model inputs for a batch (spec §3, §5.5): <c>input_ids</c> [B, S] (−1 = right padding); optionally <c>images</c>
/// [B, T, 576, 588], <c>image_masks</c> [B, T, 576] and <c>image_input_idx</c> [B, T, 144] (negative = feature dropped).
/// </summary>
public sealed record ModelInputs(Tensor InputIds, Tensor? Images = null, Tensor? ImageMasks = null, Tensor? ImageInputIdx = null);

/// <summary>What a forward pass returns. Logits are float32.</summary>
public sealed class ForwardOutput : IDisposable
{
    public required Tensor Logits { get; init; }
    /// <summary>Input of each block, then the output of the final norm (when requested).</summary>
    public List<Tensor>? HiddenStates { get; init; }
    public Tensor? TextEmbeddings { get; init; }
    public VisionOutputs? Vision { get; init; }

    public void Dispose()
    {
        Logits.Dispose();
        HiddenStates?.ForEach(t => t.Dispose());
        TextEmbeddings?.Dispose();
        if (Vision != null) { Vision.Projected.Dispose(); Vision.Encoded?.Dispose(); Vision.FirstLayer?.Dispose(); Vision.LastLayer?.Dispose(); }
    }
}

/// <summary>Options of one forward pass.</summary>
public sealed record ForwardOptions
{
    /// <summary>Logits for every position (true) or only the last one of each sequence (false, as generation needs).</summary>
    public bool AllLogits { get; init; } = true;
    /// <summary>Keep hidden states, text embeddings and vision intermediates (for golden tests and inspection).</summary>
    public bool KeepIntermediates { get; init; }
    /// <summary>With <see cref="AllLogits"/> false: the position whose logits are returned (null: each sequence's last
    /// non-padding one).</summary>
    internal long? LastPosition { get; init; }
}

/// <summary>The core Molmo module (keys <c>model.transformer.*</c> and <c>model.vision_backbone.*</c>).</summary>
public sealed class MolmoModel : nn.Module
{
#pragma warning disable IDE0044
    MolmoTransformer transformer;
    VisionBackbone vision_backbone;
#pragma warning restore IDE0044

    public MolmoTransformer Transformer => transformer;
    public VisionBackbone VisionBackbone => vision_backbone;

    public MolmoModel(MolmoConfig c, ModelPlacement p) : base(nameof(MolmoModel))
    {
        transformer = new MolmoTransformer(c, p);
        vision_backbone = new VisionBackbone(c, p);
        RegisterComponents();
    }
}

/// <summary>
/// Molmo for causal LM (the HF <c>MolmoForCausalLM</c> layout: every key starts with <c>model.</c>). Runs prefill and decode
/// steps; everything allocated inside a pass is released by its dispose scope.
/// </summary>
public sealed class MolmoForCausalLM : nn.Module
{
#pragma warning disable IDE0044
    MolmoModel model;
#pragma warning restore IDE0044
    readonly RotaryEmbedding _rope;

    public MolmoConfig Config { get; }
    public ModelPlacement Placement { get; }
    public MolmoModel Model => model;

    public MolmoForCausalLM(MolmoConfig config, ModelPlacement placement) : base(nameof(MolmoForCausalLM))
    {
        if (config.IsMixtureOfExperts)
            throw new NotSupportedException("MolmoE (mixture-of-experts) checkpoints are recognised but not runnable yet: only the dense Molmo models (7B-D, 7B-O, 72B) are supported");
        Config = config; Placement = placement;
        model = new MolmoModel(config, placement);
        PrefillBucket = placement.Device.type == TorchSharp.DeviceType.CUDA ? 64 : 0;
        // The meta device holds no data: the rotary table is only needed where the model runs.
        _rope = new RotaryEmbedding(config.HeadDim, config.MaxPositionEmbeddings, config.RopeTheta,
                                    placement.Device.type == TorchSharp.DeviceType.META ? CPU : placement.Device);
        RegisterComponents();
    }

    /// <summary>KV caches and fixed-shape decode steps (with their CUDA graphs) kept between requests (see
    /// <see cref="Generation.DecodeContexts"/>); <c>Clear()</c> frees them.</summary>
    public Generation.DecodeContexts DecodeContexts { get; } = new();

    /// <summary>
    /// A prompt's length is padded up to a multiple of this for its prefill (0 or 1: never), on a GPU 64 by default, on the
    /// CPU off. SDPA on CUDA sets itself up for every new sequence length it sees (~40 ms, stack notes §8.1), so prompts of
    /// varied lengths (images of other sizes, other questions) each paid it on their first prefill; padded, they fall into a
    /// few lengths that are set up once. The padding is filler tokens after the prompt: causal attention keeps them out of
    /// every prompt position, the logits come from the prompt's last position, and the cache is cut back to the prompt. It
    /// costs at most bucket − 1 positions more work (2.5 % for a 749-token prompt), which on the CPU would be pure loss.
    /// </summary>
    public int PrefillBucket { get; set; }

    /// <summary>The positions a prompt of <paramref name="promptLength"/> tokens takes while it is prefilled: its length
    /// padded to <see cref="PrefillBucket"/> (within the model's positions), so that a cache made for it has room.</summary>
    public int PrefillLength(long promptLength)
    {
        long padded = PrefillBucket > 1 ? (promptLength + PrefillBucket - 1) / PrefillBucket * PrefillBucket : promptLength;
        return (int)(padded <= Config.MaxPositionEmbeddings ? padded : promptLength);
    }

    /// <summary>
    /// A prompt's prefill (one sequence, <c>input_ids</c> [1, S]) into an empty one-row <paramref name="cache"/> (or a row of
    /// a batch: <see cref="KvCache.Row"/>): the logits of its last position, with the cache holding its S positions. Padded
    /// to <see cref="PrefillBucket"/> where that applies (a fresh cache with room for the padding, no padding ids of its own).
    /// </summary>
    public ForwardOutput Prefill(ModelInputs inputs, KvCache cache)
    {
        var last = new ForwardOptions { AllLogits = false };
        var ids = inputs.InputIds;
        int bucket = PrefillBucket;
        if (bucket <= 1 || cache.Batch != 1 || cache.Length != 0 || ids.dim() != 2 || ids.shape[0] != 1) return Forward(inputs, cache, last);
        long s = ids.shape[1], padded = PrefillLength(s);
        if (padded == s || padded > cache.Capacity || AnyNegative(ids)) return Forward(inputs, cache, last);
        Tensor filled;
        // Filler id 0 (any real token would do: no prompt position attends to a later one).
        using (NewDisposeScope())
            filled = cat([ids.to(ScalarType.Int64), zeros([1, padded - s], ScalarType.Int64, ids.device)], 1).MoveToOuterDisposeScope();
        using (filled)
        {
            var output = Forward(inputs with { InputIds = filled }, cache, last with { LastPosition = s - 1 });
            cache.SetRowLength(0, (int)s);   // the filler's keys and values lie beyond the prompt: masked, then overwritten
            return output;
        }
    }

    /// <summary>Number of the checkpoint's parameters (elements): an int4 matrix counts its weights (two a byte), and the
    /// scales of quantised layers, which are no checkpoint tensors, do not count.</summary>
    public long ParameterCount => named_parameters().Where(p => !p.name.EndsWith(".weight_scale", StringComparison.Ordinal))
        .Sum(p => p.parameter.NumberOfElements * (p.parameter.dtype == ScalarType.Byte ? 2 : 1));

    /// <summary>
    /// One forward pass. Without a cache: the whole sequence, causal attention. With a cache: the new tokens at positions
    /// cache.Length…, attending over everything cached; the cache is advanced.
    /// </summary>
    public ForwardOutput Forward(ModelInputs inputs, KvCache? cache = null, ForwardOptions? options = null)
    {
        options ??= new ForwardOptions();
        Runtime.TorchRuntime.ApplyCpuThreads();   // --threads, on whichever thread this pass runs
        using var scope = NewDisposeScope();
        var dev = Placement.Device;
        // On a GPU this pass must not wait for the device before its last position's logits: a sync in the middle (a value
        // read back, a pageable upload, an op whose output size depends on data) leaves the GPU idle while the host issues the
        // next ops, which for a prefill of some 2,000 libtorch calls is a good part of its time. So what depends on the inputs'
        // values is decided from the host's copies of them (the processor's tensors live on the CPU), and uploads are queued.
        if (inputs.InputIds.dim() != 2) throw new ArgumentException($"input_ids must be [batch, seq], got [{string.Join(", ", inputs.InputIds.shape)}]");
        var ids = Runtime.HostTransfer.ToDevice(inputs.InputIds.to(ScalarType.Int64), dev);
        long b = ids.shape[0], s = ids.shape[1];
        int start = cache?.Length ?? 0;
        // Padding (−1) in a prompt, read where the caller's ids are (the host, as a rule). A decode step feeds generated ids,
        // never padding, and its ids are on the device: no check, so that queued steps never wait.
        bool padded = !(s == 1 && cache is not null) && AnyNegative(inputs.InputIds);

        var x = model.Transformer.Embeddings.forward(ids);                                    // [B, S, D]
        Tensor? textEmb = options.KeepIntermediates ? x.clone() : null;
        VisionOutputs? vision = null;
        if (inputs.Images is not null)
        {
            if (inputs.ImageMasks is null || inputs.ImageInputIdx is null)
                throw new ArgumentException("images need image_masks and image_input_idx");
            vision = EncodeAndMerge(ref x, inputs, b, s, options.KeepIntermediates);
        }

        Tensor cos, sin;
        Tensor? mask;
        // A prompt continued after cached positions of one length, without padding: its mask is plainly causal, offset by
        // the prefix, which the CPU attention kernel applies itself.
        bool continued = cache is { IsUniform: true } && start > 0 && s > 1 && !padded;
        if (cache is { IsUniform: false })
        {
            // Batched decoding of sequences of different lengths: row b sits at position len_b and sees keys 0…len_b.
            if (s != 1) throw new ArgumentException("sequences of different lengths advance one token per step");
            var pos = cache.RowPositions(dev);
            (cos, sin) = _rope.GatherRows(pos, cache.Length);
            mask = RowMask(Runtime.Scalars.Arange(0, cache.Length + 1, ScalarType.Int64, dev), pos);
        }
        else
        {
            (cos, sin) = _rope.Slice(start, s);
            mask = BuildMask(ids, padded, cache, start, b, s);
        }
        var hidden = options.KeepIntermediates ? new List<Tensor>() : null;
        x = Blocks(x, cos, sin, cache, mask, hidden, continued);
        cache?.Advance((int)s);
        x = model.Transformer.FinalNorm.forward(x);
        hidden?.Add(x);
        if (!options.AllLogits && s > 1) x = options.LastPosition is { } last ? x.narrow(1, last, 1) : LastValid(x, ids);
        var logits = model.Transformer.LmHead.forward(x).to(ScalarType.Float32);

        return new ForwardOutput
        {
            Logits = logits.MoveToOuterDisposeScope(),
            HiddenStates = hidden?.Select(h => h.MoveToOuterDisposeScope()).ToList(),
            TextEmbeddings = textEmb?.MoveToOuterDisposeScope(),
            Vision = vision is null ? null : new VisionOutputs(vision.Projected.MoveToOuterDisposeScope(),
                vision.Encoded?.MoveToOuterDisposeScope(), vision.FirstLayer?.MoveToOuterDisposeScope(), vision.LastLayer?.MoveToOuterDisposeScope()),
        };
    }

    /// <summary>
    /// One decode step whose tensors have the same shapes at every step, so that a CUDA graph can record it once and replay
    /// it: <paramref name="ids"/> [B, 1] and <paramref name="positions"/> [B] (int64) are on the device and are not read by
    /// the host, the new keys and values go to each row's position, and attention runs over the cache's whole capacity with
    /// each row masked to positions 0…position (<paramref name="keyIndex"/>: 0…capacity−1 on the device). The same values as
    /// <see cref="Forward"/> at those positions, up to the order of sums over the longer key axis. The cache's host lengths
    /// are neither read nor advanced. Returns float32 logits [B, 1, V].
    /// </summary>
    internal Tensor ForwardFixedShape(Tensor ids, KvCache cache, Tensor positions, Tensor keyIndex)
    {
        using var scope = NewDisposeScope();
        var x = model.Transformer.Embeddings.forward(ids);
        // The host knows the largest position any row can hold: the cache's last.
        var (cos, sin) = _rope.GatherRows(positions, cache.Capacity - 1);
        var mask = RowMask(keyIndex, positions);
        cache.UseFixedShape(positions);
        try { x = Blocks(x, cos, sin, cache, mask, hidden: null); }
        finally { cache.UseFixedShape(null); }
        x = model.Transformer.FinalNorm.forward(x);
        return model.Transformer.LmHead.forward(x).to(ScalarType.Float32).MoveToOuterDisposeScope();
    }

    /// <summary>Each row's keys 0…its position: [B, 1, 1, L] (true = attend) from the key indices [L] and positions [B].</summary>
    static Tensor RowMask(Tensor keyIndex, Tensor positions) =>
        keyIndex.unsqueeze(0).le(positions.unsqueeze(1)).view(positions.shape[0], 1, 1, -1);

    /// <summary>The decoder blocks over x; each block's input is kept in <paramref name="hidden"/> when given, else released
    /// at once (prefill activations add up over 28–80 layers).</summary>
    Tensor Blocks(Tensor x, Tensor cos, Tensor sin, KvCache? cache, Tensor? mask, List<Tensor>? hidden, bool continued = false)
    {
        int layer = 0;
        foreach (var block in model.Transformer.Blocks)
        {
            hidden?.Add(x);
            var next = block.Forward(x, cos, sin, cache, layer++, mask, continued);
            if (hidden is null) x.Dispose();
            x = next;
        }
        return x;
    }

    VisionOutputs EncodeAndMerge(ref Tensor x, ModelInputs inputs, long b, long s, bool keep)
    {
        var dev = Placement.Device;
        var images = inputs.Images!;
        var masks = inputs.ImageMasks!;
        // Which features go where is worked out on the host, before anything is queued: the positions' count depends on
        // the data (masked_select, nonzero), which on a GPU would wait for the whole vision encoder to finish.
        var idx = inputs.ImageInputIdx!.to(ScalarType.Int64, CPU);
        if (images.dim() == 3) { images = images.unsqueeze(0); masks = masks.unsqueeze(0); idx = idx.unsqueeze(0); }
        if (images.shape[0] != b) throw new ArgumentException($"images hold {images.shape[0]} examples but input_ids {b}");
        if (idx.dim() != 3 || idx.shape[0] != b || idx.shape[1] != images.shape[1])
            throw new ArgumentException($"image_input_idx must be [{b}, {images.shape[1]}, tokens per crop], got [{string.Join(", ", idx.shape)}]");
        long t = images.shape[1];
        var flatIdx = idx.view(b, -1);
        var valid = flatIdx.ge(Runtime.Scalars.Of(0));
        var positions = flatIdx.add(Runtime.Scalars.Arange(0, b, ScalarType.Int64).unsqueeze(1).mul(Runtime.Scalars.Of(s)), Runtime.Scalars.One).masked_select(valid);
        if (positions.NumberOfElements > 0 && positions.max().item<long>() >= b * s)
            throw new ArgumentException("image_input_idx points past the end of input_ids");
        var featureRows = valid.view(-1).nonzero().view(-1);
        var vision = model.VisionBackbone.ForwardDetailed(Runtime.HostTransfer.ToDevice(images, dev).flatten(0, 1),
                                                          Runtime.HostTransfer.ToDevice(masks, dev).flatten(0, 1), keep);
        var feats = vision.Projected.to(x.dtype).view(b, t * idx.shape[2], -1);               // [B, T·144, D]
        // Add (not replace) each kept pooled feature to the embedding at its position (spec §5.5).
        var rows = feats.reshape(b * t * idx.shape[2], -1).index_select(0, Runtime.HostTransfer.ToDevice(featureRows, dev));
        x = x.reshape(b * s, -1).index_add(0, Runtime.HostTransfer.ToDevice(positions, dev), rows, Runtime.Scalars.One).view(b, s, -1);
        return vision;
    }

    /// <summary>The attention mask, or null where plain causal attention (or an unmasked decode step) is exact.</summary>
    static Tensor? BuildMask(Tensor ids, bool padded, KvCache? cache, int start, long b, long s)
    {
        // A decode step feeds generated ids (never padding).
        if (s == 1 && cache is not null) return null;
        bool prefix = start > 0 && s > 1;
        if (!padded && !prefix) return null;
        long len = start + s;
        var dev = ids.device;
        var rows = Runtime.Scalars.Arange(start, len, ScalarType.Int64, dev).unsqueeze(1);
        var cols = Runtime.Scalars.Arange(0, len, ScalarType.Int64, dev).unsqueeze(0);
        var causal = cols.le(rows).view(1, 1, s, len);
        if (!padded || cache is not null && start > 0) return causal;  // padding of earlier steps is handled by the caller's mask
        var keyOk = ids.ge(Runtime.Scalars.Of(0)).view(b, 1, 1, s);
        // A fully padded query row would attend to nothing (NaN); let it see itself.
        var self = eye(s, s, ScalarType.Bool, dev).view(1, 1, s, s);
        return causal.logical_and(keyOk).logical_or(self);
    }

    /// <summary>Whether any id is negative (padding), on the host when the ids are there.</summary>
    static bool AnyNegative(Tensor ids)
    {
        using var scope = NewDisposeScope();
        return ids.lt(Runtime.Scalars.Of(0)).any().item<bool>();
    }

    /// <summary>Hidden state of the last non-padding position of each sequence: [B, S, D] → [B, 1, D].</summary>
    static Tensor LastValid(Tensor x, Tensor ids)
    {
        var lengths = ids.ge(Runtime.Scalars.Of(0)).sum(1).clamp_min(Runtime.Scalars.One).sub(Runtime.Scalars.One);             // [B]
        var index = lengths.view(-1, 1, 1).expand(-1, 1, x.shape[2]);
        return x.gather(1, index);
    }

    /// <summary>Allocates a KV cache for <paramref name="capacity"/> positions.</summary>
    public KvCache NewCache(int batch, int capacity)
    {
        if (capacity > Config.MaxPositionEmbeddings)
            throw new ArgumentException($"{capacity} positions exceed the model's maximum of {Config.MaxPositionEmbeddings}");
        // On the CPU, decode attention reads the cache in the engine's kernel, which takes bf16 as well as float32: a bf16 model
        // keeps a bf16 cache (its keys and values are bf16 values, so nothing is lost; 7B-D: 57 KB per position instead of
        // 115 KB). Without the kernel (no AVX-512, or head shapes it does not take) the cache is float32: libtorch's bf16
        // matmul for decode-sized attention is many times slower than its float32 one.
        var dtype = Placement.Device.type != TorchSharp.DeviceType.CPU ? Placement.DType
            : Placement.DType == ScalarType.BFloat16 && Kernels.CpuAttention.IsSupported
              && Kernels.CpuAttention.Handles(Config.NumHeads, Config.NumKeyValueHeads, Config.HeadDim) ? ScalarType.BFloat16
            : ScalarType.Float32;
        return new KvCache(Config.NumLayers, batch, Config.NumKeyValueHeads, capacity, Config.HeadDim, dtype, Placement.Device);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            DecodeContexts.Dispose();
            _rope.Dispose();
        }
        base.Dispose(disposing);
    }
}
