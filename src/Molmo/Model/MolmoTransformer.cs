using Molmo.Checkpoints;
using static TorchSharp.torch;

namespace Molmo.Model;

/// <summary>
/// Token embeddings: the base table <c>embedding</c> [embedding_size, D] followed by <c>new_embedding</c> [128, D]
/// (where the Molmo image tokens live for Qwen2 models). Looked up without concatenating the two tables.
/// </summary>
public sealed class WordEmbedding : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE0044
    TorchSharp.Modules.Parameter embedding;
    TorchSharp.Modules.Parameter new_embedding;
#pragma warning restore IDE0044
    readonly long _base;

    public WordEmbedding(int baseRows, int newRows, int dim, ModelPlacement p) : base(nameof(WordEmbedding))
    {
        _base = baseRows;
        embedding = p.Empty(baseRows, dim);
        new_embedding = p.Empty(newRows, dim);
        RegisterComponents();
    }

    public long Rows => _base + new_embedding.shape[0];

    /// <summary>ids [B, S] (negative ids — batch padding — read row 0) → [B, S, D].</summary>
    public override Tensor forward(Tensor ids)
    {
        using var scope = NewDisposeScope();
        var safe = ids.clamp_min(Runtime.Scalars.Of(0));
        var isNew = safe.ge(Runtime.Scalars.Of(_base));
        // Both lookups are a few rows; doing both avoids a host sync (any().item()) on every decode step.
        var fromBase = Lookup(embedding, safe.clamp_max(Runtime.Scalars.Of(_base - 1)));
        var fromNew = Lookup(new_embedding, safe.sub(Runtime.Scalars.Of(_base)).clamp(Runtime.Scalars.Of(0), Runtime.Scalars.Of(new_embedding.shape[0] - 1)));
        return where(isNew.unsqueeze(-1), fromNew, fromBase).MoveToOuterDisposeScope();
    }

    static Tensor Lookup(Tensor table, Tensor ids)
    {
        var shape = ids.shape.Append(table.shape[1]).ToArray();
        return table.index_select(0, ids.flatten()).view(shape);
    }
}

/// <summary>The decoder LLM (keys <c>model.transformer.*</c>): embeddings, blocks, final RMSNorm <c>ln_f</c>, LM head <c>ff_out</c>.</summary>
public sealed class MolmoTransformer : nn.Module
{
#pragma warning disable IDE0044
    WordEmbedding wte;
    TorchSharp.Modules.ModuleList<DecoderBlock> blocks;
    RMSNorm ln_f;
    Linear ff_out;
#pragma warning restore IDE0044

    public WordEmbedding Embeddings => wte;
    public IReadOnlyList<DecoderBlock> Blocks { get; }
    public RMSNorm FinalNorm => ln_f;
    public Linear LmHead => ff_out;

    public MolmoTransformer(MolmoConfig c, ModelPlacement p) : base(nameof(MolmoTransformer))
    {
        wte = new WordEmbedding(c.EmbeddingSize, c.AdditionalVocabSize, c.HiddenSize, p);
        blocks = new TorchSharp.Modules.ModuleList<DecoderBlock>();
        for (int i = 0; i < c.NumLayers; i++) blocks.Add(new DecoderBlock(c, p));
        ln_f = new RMSNorm(c.HiddenSize, c.LayerNormEps, p);
        ff_out = new Linear(c.HiddenSize, c.EmbeddingSize, false, p, quantizable: true);
        Blocks = blocks.ToList();
        RegisterComponents();
    }
}
