using System.Text.Json;
using System.Text.Json.Nodes;
using Molmo.Text;

namespace Molmo.Checkpoints;

/// <summary>Vision backbone hyper-parameters (spec §1.3). Official checkpoints leave them to the defaults below.</summary>
public sealed record VisionConfig
{
    public int ImageSize { get; init; } = 336;
    public int PatchSize { get; init; } = 14;
    public int EmbDim { get; init; } = 1024;
    public int NumHeads { get; init; } = 16;
    public int NumKeyValueHeads { get; init; } = 16;
    public int HeadDim { get; init; } = 64;
    public int NumLayers { get; init; } = 23;
    public int MlpDim { get; init; } = 4096;
    public int NumPos { get; init; } = 577;
    public double NormEps { get; init; } = 1e-5;
    public string Activation { get; init; } = "quick_gelu";

    public int PatchesPerSide => ImageSize / PatchSize;          // 24
    public int PatchPixels => PatchSize * PatchSize * 3;          // 588
}

/// <summary>
/// A Molmo checkpoint's configuration: the released HF <c>config.json</c> fields (spec §1.1), the values the HF wrapper
/// hard-codes (§1.2, §1.3), and the <c>molmo_ext</c> object of small test checkpoints (§8.2) that overrides them.
/// </summary>
public sealed record MolmoConfig
{
    public string ModelType { get; init; } = "molmo";
    public int HiddenSize { get; init; }
    public int NumLayers { get; init; }
    public int NumHeads { get; init; }
    public int NumKeyValueHeads { get; init; }
    public int IntermediateSize { get; init; }
    public int VocabSize { get; init; }
    public int EmbeddingSize { get; init; }
    public int AdditionalVocabSize { get; init; } = 128;
    public int MaxPositionEmbeddings { get; init; } = 4096;
    public double RopeTheta { get; init; } = 10000;
    public double LayerNormEps { get; init; } = 1e-5;
    public bool QkvBias { get; init; }
    public bool AttentionLayerNorm { get; init; }
    public bool NormAfter { get; init; }
    public string TorchDtype { get; init; } = "float32";
    public int[] VitLayers { get; init; } = [-2, -9];
    public VisionConfig Vision { get; init; } = new();
    /// <summary>Special ids from <c>molmo_ext</c>; official checkpoints take them from the tokenizer instead.</summary>
    public SpecialTokenIds? SpecialTokens { get; init; }
    /// <summary>Mixture-of-experts (MolmoE) checkpoint: recognised, but not runnable by this engine yet.</summary>
    public bool IsMixtureOfExperts { get; init; }
    public int NumExperts { get; init; }
    public int ExpertsPerToken { get; init; }
    /// <summary>
    /// "int8" or "int4" for a checkpoint whose decoder matrices are stored quantised (<c>molmo quantize</c>, the config's
    /// <c>molmo_quantization.dtype</c>); null for the float checkpoints as released.
    /// </summary>
    public string? Quantization { get; init; }

    public int HeadDim => HiddenSize / NumHeads;
    public int FfnWidth => IntermediateSize / 2;
    public int QkvWidth => HiddenSize + 2 * NumKeyValueHeads * HeadDim;

    /// <summary>A short name of the decoder layout, e.g. "Qwen2-style (pre-norm, GQA 28/4, qkv bias)".</summary>
    public string DecoderStyle => IsMixtureOfExperts
        ? $"OLMoE-style mixture of experts ({NumExperts} experts, top-{ExpertsPerToken})"
        : NormAfter || AttentionLayerNorm
            ? $"OLMo-style ({(NormAfter ? "norm-after" : "pre-norm")}{(AttentionLayerNorm ? ", q/k RMSNorm" : "")}, {AttnKind})"
            : $"Qwen2-style (pre-norm, {AttnKind}{(QkvBias ? ", qkv bias" : "")})";

    string AttnKind => NumKeyValueHeads == NumHeads ? $"MHA {NumHeads} heads" : $"GQA {NumHeads}/{NumKeyValueHeads}";

    public static MolmoConfig Load(string pathOrDir)
    {
        var path = Directory.Exists(pathOrDir) ? Path.Combine(pathOrDir, "config.json") : pathOrDir;
        if (!File.Exists(path)) throw new FileNotFoundException($"config.json not found: {path}", path);
        JsonNode? root;
        try { root = JsonNode.Parse(File.ReadAllText(path)); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: not valid JSON ({e.Message})"); }
        if (root is not JsonObject obj) throw new InvalidDataException($"{path}: expected a JSON object");
        try { return Parse(obj); }
        catch (InvalidDataException e) { throw new InvalidDataException($"{path}: {e.Message}"); }
    }

    public static MolmoConfig Parse(JsonObject o)
    {
        var modelType = Str(o, "model_type") ?? "";
        if (modelType != "molmo")
            throw new InvalidDataException($"model_type is '{modelType}', expected 'molmo' (is this a Molmo checkpoint?)");
        // MolmoE-1B ships an OLMo-style config (d_model, n_layers, block_type "moe", ...).
        if (o.ContainsKey("d_model")) return ParseOlmoStyle(o);

        int hidden = ReqInt(o, "hidden_size"), heads = ReqInt(o, "num_attention_heads");
        int vocab = ReqInt(o, "vocab_size");
        var cfg = new MolmoConfig
        {
            ModelType = modelType,
            HiddenSize = hidden,
            NumLayers = ReqInt(o, "num_hidden_layers"),
            NumHeads = heads,
            NumKeyValueHeads = Int(o, "num_key_value_heads") ?? heads,
            IntermediateSize = ReqInt(o, "intermediate_size"),
            VocabSize = vocab,
            EmbeddingSize = Int(o, "embedding_size") ?? vocab,
            MaxPositionEmbeddings = Int(o, "max_position_embeddings") ?? 4096,
            RopeTheta = Dbl(o, "rope_theta") ?? 10000,
            LayerNormEps = Dbl(o, "layer_norm_eps") ?? 1e-5,
            QkvBias = Bool(o, "qkv_bias") ?? false,
            AttentionLayerNorm = Bool(o, "attention_layer_norm") ?? false,
            NormAfter = Bool(o, "norm_after") ?? false,
            TorchDtype = Str(o, "torch_dtype") ?? "float32",
        };
        if (o["clip_qkv"] is JsonValue cq && cq.GetValueKind() != JsonValueKind.Null)
            throw new InvalidDataException("clip_qkv is set; no released Molmo checkpoint uses it and this engine does not implement it");
        if ((Bool(o, "weight_tying") ?? false) || (Bool(o, "tie_word_embeddings") ?? false))
            throw new InvalidDataException("tied embeddings are set; released Molmo checkpoints have a separate LM head (transformer.ff_out)");
        var lnType = Str(o, "layer_norm_type") ?? "rms";
        if (lnType != "rms") throw new InvalidDataException($"layer_norm_type '{lnType}' is not supported (Molmo uses 'rms')");

        if (o["molmo_ext"] is JsonObject ext) cfg = ApplyExt(cfg, ext);
        if (o["molmo_quantization"] is JsonObject quant)
        {
            var q = Str(quant, "dtype");
            if (q is not ("int8" or "int4"))
                throw new InvalidDataException($"molmo_quantization.dtype is '{q}'; this engine writes and reads 'int8' and 'int4'");
            cfg = cfg with { Quantization = q };
        }
        cfg.Validate();
        return cfg;
    }

    static MolmoConfig ApplyExt(MolmoConfig cfg, JsonObject ext)
    {
        foreach (var (key, expected) in new[] { ("image_pooling_2d", "attention-meanq"), ("image_projector", "mlp"),
                                                ("image_padding_embed", "pad_and_partial_pad"), ("rope_impl", "llama") })
        {
            var v = Str(ext, key);
            if (v != null && v != expected) throw new InvalidDataException($"molmo_ext.{key} = '{v}' is not supported (only '{expected}')");
        }
        var vision = cfg.Vision;
        if (ext["vision_backbone"] is JsonObject vb)
        {
            var size = vb["image_default_input_size"] as JsonArray;
            vision = new VisionConfig
            {
                ImageSize = size is { Count: > 0 } ? (int)Num(size[0]!.AsValue()) : vision.ImageSize,
                PatchSize = Int(vb, "image_patch_size") ?? vision.PatchSize,
                EmbDim = Int(vb, "image_emb_dim") ?? vision.EmbDim,
                NumHeads = Int(vb, "image_num_heads") ?? vision.NumHeads,
                NumKeyValueHeads = Int(vb, "image_num_key_value_heads") ?? vision.NumKeyValueHeads,
                HeadDim = Int(vb, "image_head_dim") ?? vision.HeadDim,
                NumLayers = Int(vb, "image_num_layers") ?? vision.NumLayers,
                MlpDim = Int(vb, "image_mlp_dim") ?? vision.MlpDim,
                NumPos = Int(vb, "image_num_pos") ?? vision.NumPos,
                NormEps = Dbl(vb, "image_norm_eps") ?? vision.NormEps,
                Activation = Str(vb, "image_mlp_activations") ?? vision.Activation,
            };
            if (vision.ImageSize != 336 || vision.PatchSize != 14)
                throw new InvalidDataException("the vision backbone must keep the 336-px / 14-px geometry the preprocessor produces");
        }
        SpecialTokenIds? special = null;
        if (ext["special_token_ids"] is JsonObject sp)
        {
            int Id(string name) => Int(sp, name) ?? throw new InvalidDataException($"molmo_ext.special_token_ids lacks '{name}'");
            int bos = Int(ext, "bos_token_id") ?? throw new InvalidDataException("molmo_ext lacks bos_token_id");
            int eos = Int(ext, "eos_token_id") ?? throw new InvalidDataException("molmo_ext lacks eos_token_id");
            special = new SpecialTokenIds(Id("<im_start>"), Id("<im_end>"), Id("<im_patch>"), Id("<im_col>"), Id("<|image|>"), bos, eos);
        }
        var vit = ext["vit_layers"] is JsonArray va ? va.Select(x => (int)Num(x!.AsValue())).ToArray() : cfg.VitLayers;
        return cfg with
        {
            Vision = vision,
            VitLayers = vit,
            AdditionalVocabSize = Int(ext, "additional_vocab_size") ?? cfg.AdditionalVocabSize,
            SpecialTokens = special,
        };
    }

    static MolmoConfig ParseOlmoStyle(JsonObject o)
    {
        int dModel = ReqInt(o, "d_model"), heads = ReqInt(o, "n_heads");
        bool moe = Str(o, "block_type") == "moe";
        int mlpRatio = Int(o, "mlp_ratio") ?? 4;
        int mlpHidden = Int(o, "mlp_hidden_size") ?? mlpRatio * dModel;
        int vocab = ReqInt(o, "vocab_size");
        var cfg = new MolmoConfig
        {
            HiddenSize = dModel,
            NumLayers = ReqInt(o, "n_layers"),
            NumHeads = heads,
            NumKeyValueHeads = Int(o, "n_kv_heads") ?? heads,
            IntermediateSize = mlpHidden,
            VocabSize = vocab,
            EmbeddingSize = Int(o, "embedding_size") ?? vocab,
            AdditionalVocabSize = Int(o, "additional_vocab_size") ?? 128,
            MaxPositionEmbeddings = Int(o, "max_position_embeddings") ?? Int(o, "max_sequence_length") ?? 4096,
            RopeTheta = Dbl(o, "rope_theta") ?? 10000,
            LayerNormEps = Dbl(o, "layer_norm_eps") ?? 1e-5,
            QkvBias = Bool(o, "qkv_bias") ?? Bool(o, "include_bias") ?? false,
            AttentionLayerNorm = Bool(o, "attention_layer_norm") ?? false,
            NormAfter = Bool(o, "norm_after") ?? false,
            IsMixtureOfExperts = moe,
            NumExperts = Int(o, "moe_num_experts") ?? 0,
            ExpertsPerToken = Int(o, "moe_top_k") ?? 0,
        };
        cfg.Validate();
        return cfg;
    }

    /// <summary>Checks the numbers fit together; throws naming the field.</summary>
    public void Validate()
    {
        void Pos(int v, string name) { if (v <= 0) throw new InvalidDataException($"{name} must be positive (got {v})"); }
        Pos(HiddenSize, "hidden_size"); Pos(NumLayers, "num_hidden_layers"); Pos(NumHeads, "num_attention_heads");
        Pos(NumKeyValueHeads, "num_key_value_heads"); Pos(IntermediateSize, "intermediate_size"); Pos(VocabSize, "vocab_size");
        if (HiddenSize % NumHeads != 0) throw new InvalidDataException($"hidden_size {HiddenSize} is not divisible by num_attention_heads {NumHeads}");
        if (HeadDim % 2 != 0) throw new InvalidDataException($"head dim {HeadDim} must be even for rotary embeddings");
        if (NumHeads % NumKeyValueHeads != 0) throw new InvalidDataException($"num_attention_heads {NumHeads} is not a multiple of num_key_value_heads {NumKeyValueHeads}");
        if (!IsMixtureOfExperts && IntermediateSize % 2 != 0) throw new InvalidDataException($"intermediate_size {IntermediateSize} must be even (SwiGLU halves)");
        if (EmbeddingSize < VocabSize) throw new InvalidDataException($"embedding_size {EmbeddingSize} is smaller than vocab_size {VocabSize}");
        if (Vision.EmbDim != Vision.NumHeads * Vision.HeadDim)
            throw new InvalidDataException($"vision image_emb_dim {Vision.EmbDim} != image_num_heads × image_head_dim ({Vision.NumHeads} × {Vision.HeadDim})");
        if (VitLayers.Length == 0 || VitLayers.Any(l => l >= 0 ? l >= Vision.NumLayers : -l > Vision.NumLayers))
            throw new InvalidDataException($"vit_layers [{string.Join(", ", VitLayers)}] out of range for {Vision.NumLayers} ViT layers");
    }

    static string? Str(JsonObject o, string k) => o[k] is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;
    static int? Int(JsonObject o, string k)
    {
        if (o[k] is not JsonValue v || v.GetValueKind() == JsonValueKind.Null) return null;
        if (v.GetValueKind() != JsonValueKind.Number) throw new InvalidDataException($"'{k}' must be a number (got {v.ToJsonString()})");
        var d = Num(v);
        if (d != Math.Floor(d) || d > int.MaxValue || d < int.MinValue) throw new InvalidDataException($"'{k}' must be an integer (got {d})");
        return (int)d;
    }
    static int ReqInt(JsonObject o, string k) => Int(o, k) ?? throw new InvalidDataException($"required field '{k}' is missing");
    static double? Dbl(JsonObject o, string k)
    {
        if (o[k] is not JsonValue v || v.GetValueKind() == JsonValueKind.Null) return null;
        if (v.GetValueKind() != JsonValueKind.Number) throw new InvalidDataException($"'{k}' must be a number (got {v.ToJsonString()})");
        return Num(v);
    }
    // Values parsed from text or built in memory (ints, doubles) alike.
    static double Num(JsonValue v) => double.Parse(v.ToJsonString(), System.Globalization.CultureInfo.InvariantCulture);
    static bool? Bool(JsonObject o, string k)
    {
        if (o[k] is not JsonValue v || v.GetValueKind() == JsonValueKind.Null) return null;
        return v.GetValueKind() switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw new InvalidDataException($"'{k}' must be true or false (got {v.ToJsonString()})"),
        };
    }
}
