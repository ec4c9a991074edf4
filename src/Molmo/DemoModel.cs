using System.Text.Json.Nodes;
using Molmo.Checkpoints;
using Molmo.Model;
using SkiaSharp;
using static TorchSharp.torch;

namespace Molmo;

/// <summary>
/// A small Molmo with <b>random weights</b> and the real Molmo-7B-D tokenizer, written as an ordinary model directory
/// (config.json, tokenizer files, model.safetensors) so that everything downstream — loading, preprocessing, generation —
/// runs the real code paths. It answers with nonsense: it exists to show and test the pipeline without a download.
/// </summary>
public static class DemoModel
{
    /// <summary>Folder of the bundled tokenizer files (copied beside the assemblies at build time).</summary>
    public static string BundledTokenizerDirectory => Path.Combine(AppContext.BaseDirectory, "assets", "tokenizers", "qwen2");

    /// <summary>The demo configuration: real vocabulary and image geometry, tiny widths (as the golden tiny checkpoints).</summary>
    public static JsonObject ConfigJson() => new()
    {
        ["architectures"] = new JsonArray("MolmoForCausalLM"),
        ["model_type"] = "molmo",
        ["hidden_size"] = 64,
        ["num_hidden_layers"] = 2,
        ["num_attention_heads"] = 4,
        ["num_key_value_heads"] = 2,
        ["intermediate_size"] = 192,
        ["vocab_size"] = 152064,
        ["embedding_size"] = 152064,
        ["max_position_embeddings"] = 4096,
        ["rope_theta"] = 1000000.0,
        ["layer_norm_eps"] = 1e-6,
        ["layer_norm_type"] = "rms",
        ["qkv_bias"] = true,
        ["attention_layer_norm"] = false,
        ["norm_after"] = false,
        ["clip_qkv"] = null,
        ["weight_tying"] = false,
        ["torch_dtype"] = "float32",
        ["molmo_ext"] = new JsonObject
        {
            ["note"] = "random weights: for demos and tests only",
            ["vision_backbone"] = new JsonObject
            {
                ["image_default_input_size"] = new JsonArray(336, 336),
                ["image_patch_size"] = 14,
                ["image_emb_dim"] = 32,
                ["image_num_heads"] = 4,
                ["image_num_key_value_heads"] = 4,
                ["image_num_layers"] = 9,
                ["image_head_dim"] = 8,
                ["image_mlp_dim"] = 64,
                ["image_num_pos"] = 577,
                ["image_norm_eps"] = 1e-5,
            },
            ["vit_layers"] = new JsonArray(-2, -9),
            ["additional_vocab_size"] = 128,
        },
    };

    /// <summary>Writes the demo model directory (refuses a non-empty folder that is not a previous demo model).</summary>
    public static string Create(string dir, long seed = 0)
    {
        if (!File.Exists(Path.Combine(BundledTokenizerDirectory, "vocab.json")))
            throw new FileNotFoundException($"bundled tokenizer files are missing from {BundledTokenizerDirectory}");
        Directory.CreateDirectory(dir);
        foreach (var f in Directory.GetFiles(BundledTokenizerDirectory)) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)), overwrite: true);
        var cfgJson = ConfigJson();
        File.WriteAllText(Path.Combine(dir, "config.json"), cfgJson.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
        var cfg = MolmoConfig.Parse(cfgJson);
        using var model = new MolmoForCausalLM(cfg, ModelPlacement.CpuFloat32);
        RandomWeights.Initialize(model, seed);
        SafetensorsWriter.Save(Path.Combine(dir, "model.safetensors"),
            model.named_parameters().Select(p => new KeyValuePair<string, Tensor>(p.name, p.parameter)),
            new Dictionary<string, string> { ["format"] = "pt", ["note"] = "random weights" });
        return dir;
    }

    /// <summary>A simple scene: sky gradient, ground, a red circle, a blue square and a caption.</summary>
    public static byte[] DrawTestImage(int w, int h)
    {
        using var surface = SKSurface.Create(new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Premul));
        var c = surface.Canvas;
        using (var sky = new SKPaint { Shader = SKShader.CreateLinearGradient(new SKPoint(0, 0), new SKPoint(0, h), [new SKColor(120, 180, 240), new SKColor(230, 240, 255)], SKShaderTileMode.Clamp) })
            c.DrawRect(0, 0, w, h, sky);
        using (var ground = new SKPaint { Color = new SKColor(90, 160, 80) }) c.DrawRect(0, h * 0.65f, w, h * 0.35f, ground);
        using (var red = new SKPaint { Color = new SKColor(220, 30, 40), IsAntialias = true }) c.DrawCircle(w * 0.30f, h * 0.40f, h * 0.12f, red);
        using (var blue = new SKPaint { Color = new SKColor(40, 60, 200), IsAntialias = true }) c.DrawRect(w * 0.60f, h * 0.30f, h * 0.22f, h * 0.22f, blue);
        using (var ink = new SKPaint { Color = SKColors.Black, IsAntialias = true })
        using (var font = new SKFont(SKTypeface.Default, 28))
            c.DrawText("Molmo .NET demo", 20, h - 24, SKTextAlign.Left, font, ink);
        using var img = surface.Snapshot();
        using var data = img.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }
}
