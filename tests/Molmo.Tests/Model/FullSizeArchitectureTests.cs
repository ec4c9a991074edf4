using System.Text.Json.Nodes;
using Molmo.Checkpoints;
using Molmo.Model;
using Molmo.TestSupport;
using static TorchSharp.torch;

namespace Molmo.Tests.Model;

/// <summary>
/// Full-size architectures built on the meta device (no memory): every parameter name and shape must match the
/// official checkpoint layout (spec §2), so real weights load with no renaming.
/// </summary>
public class FullSizeArchitectureTests
{
    static MolmoForCausalLM OnMeta(MolmoConfig cfg) => new(cfg, new ModelPlacement(ScalarType.BFloat16, META));

    static Dictionary<string, long[]> Shapes(MolmoForCausalLM m) => m.named_parameters().ToDictionary(p => p.name, p => p.parameter.shape);

    [Fact]
    public void Molmo7BD_NamesMatchTheReleasedTensorList()
    {
        var dir = Path.Combine(TestPaths.Models, "molmo-7b-d-0924");
        var cfg = MolmoConfig.Load(dir);
        using var model = OnMeta(cfg);
        var expected = File.ReadAllLines(Path.Combine(dir, "tensor-names.txt")).Where(l => l.Length > 0).Order().ToArray();
        var actual = Shapes(model).Keys.Order().ToArray();
        Assert.Equal(expected, actual);
    }

    [Fact]
    public void Molmo7BD_ShapesFollowTheConfig()
    {
        var cfg = MolmoConfig.Load(Path.Combine(TestPaths.Models, "molmo-7b-d-0924"));
        using var model = OnMeta(cfg);
        var s = Shapes(model);
        int d = cfg.HiddenSize, kv = cfg.NumKeyValueHeads * cfg.HeadDim;
        Assert.Equal([cfg.EmbeddingSize, d], s["model.transformer.wte.embedding"]);
        Assert.Equal([128L, d], s["model.transformer.wte.new_embedding"]);
        Assert.Equal([d + 2L * kv, d], s["model.transformer.blocks.0.att_proj.weight"]);
        Assert.Equal([d + 2L * kv], s["model.transformer.blocks.27.att_proj.bias"]);
        Assert.Equal([cfg.IntermediateSize, d], s["model.transformer.blocks.3.ff_proj.weight"]);
        Assert.Equal([d, cfg.IntermediateSize / 2L], s["model.transformer.blocks.3.ff_out.weight"]);
        Assert.Equal([cfg.EmbeddingSize, d], s["model.transformer.ff_out.weight"]);
        Assert.Equal([577L, 1024], s["model.vision_backbone.image_vit.positional_embedding"]);
        Assert.Equal([1024L, 588], s["model.vision_backbone.image_vit.patch_embedding.weight"]);
        Assert.Equal([1024L, 2048], s["model.vision_backbone.image_pooling_2d.wq.weight"]);
        Assert.Equal([cfg.IntermediateSize / 2L, 1024], s["model.vision_backbone.image_projector.w1.weight"]);
        Assert.Equal([(long)d, cfg.IntermediateSize / 2L], s["model.vision_backbone.image_projector.w2.weight"]);
        Assert.Equal([2L, 2048], s["model.vision_backbone.pad_embed"]);
        Assert.Equal(23, s.Keys.Count(k => k.EndsWith(".attention.wq.weight") && k.Contains("resblocks")));
        // The parameter total the released index reports (spec §1.1 / §2.2).
        Assert.Equal(8_021_025_280L, model.ParameterCount);
    }

    // Configs of the other dense releases, with the values of spec §1.1 (their config.json files are not in shared/).
    static MolmoConfig Released(string name) => MolmoConfig.Parse((JsonObject)JsonNode.Parse(name switch
    {
        "7b-o" => """
                      {"model_type":"molmo","hidden_size":4096,"num_hidden_layers":32,"num_attention_heads":32,"num_key_value_heads":null,
                      "intermediate_size":22016,"vocab_size":100278,"embedding_size":100352,"max_position_embeddings":4096,"rope_theta":500000.0,
                      "layer_norm_eps":1e-6,"qkv_bias":false,"attention_layer_norm":true,"norm_after":true,"clip_qkv":null,"weight_tying":false}
                      """,
        "72b" => """
                      {"model_type":"molmo","hidden_size":8192,"num_hidden_layers":80,"num_attention_heads":64,"num_key_value_heads":8,
                      "intermediate_size":59136,"vocab_size":152064,"embedding_size":152064,"max_position_embeddings":4096,"rope_theta":1000000.0,
                      "layer_norm_eps":1e-5,"qkv_bias":true,"attention_layer_norm":false,"norm_after":false,"clip_qkv":null,"weight_tying":false}
                      """,
        _ => throw new ArgumentException(name),
    })!);

    [Fact]
    public void Molmo7BO_HasQkNormNoBiasAndTheSpecShapes()
    {
        using var model = OnMeta(Released("7b-o"));
        var s = Shapes(model);
        Assert.Equal([12288L, 4096], s["model.transformer.blocks.0.att_proj.weight"]);
        Assert.False(s.ContainsKey("model.transformer.blocks.0.att_proj.bias"));
        Assert.Equal([4096L], s["model.transformer.blocks.31.q_norm.weight"]);
        Assert.Equal([4096L], s["model.transformer.blocks.31.k_norm.weight"]);
        Assert.Equal([100352L, 4096], s["model.transformer.wte.embedding"]);
        Assert.Equal([4096L, 11008], s["model.transformer.blocks.0.ff_out.weight"]);
        Assert.Equal([11008L, 1024], s["model.vision_backbone.image_projector.w3.weight"]);
        Assert.Equal(7_665_032_192L, model.ParameterCount);
    }

    [Fact]
    public void Molmo72B_HasTheSpecShapes()
    {
        using var model = OnMeta(Released("72b"));
        var s = Shapes(model);
        Assert.Equal([10240L, 8192], s["model.transformer.blocks.79.att_proj.weight"]);
        Assert.Equal([10240L], s["model.transformer.blocks.79.att_proj.bias"]);
        Assert.Equal([59136L, 8192], s["model.transformer.blocks.0.ff_proj.weight"]);
        Assert.Equal([8192L, 29568], s["model.vision_backbone.image_projector.w2.weight"]);
        Assert.False(s.ContainsKey("model.transformer.blocks.0.q_norm.weight"));
        Assert.Equal(73_308_285_952L, model.ParameterCount);
    }

    [Fact]
    public void MolmoE_ConfigIsRecognisedButRejectedClearly()
    {
        var cfg = MolmoConfig.Load(Path.Combine(TestPaths.Models, "molmoe-1b-0924"));
        Assert.True(cfg.IsMixtureOfExperts);
        Assert.Equal(64, cfg.NumExperts);
        var e = Assert.Throws<NotSupportedException>(() => OnMeta(cfg));
        Assert.Contains("MolmoE", e.Message);
    }
}
