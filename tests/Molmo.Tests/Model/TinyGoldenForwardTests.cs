using Molmo.Checkpoints;
using Molmo.Model;
using Molmo.TestSupport;
using static TorchSharp.torch;

namespace Molmo.Tests.Model;

public class TinyGoldenForwardTests
{
    static MolmoForCausalLM LoadTiny(string variant, bool sharded = false)
    {
        var dir = Golden.TinyDir(variant);
        var cfg = MolmoConfig.Load(dir);
        var model = new MolmoForCausalLM(cfg, Golden.Float32);
        using var ck = Checkpoint.Open(sharded ? Path.Combine(dir, "sharded") : dir);
        CheckpointLoader.Load(model, ck);
        return model;
    }

    [Theory]
    [InlineData("tiny_d_style", "text_only")]
    [InlineData("tiny_o_style", "text_only")]
    [InlineData("tiny_d_style", "img_100x100")]
    [InlineData("tiny_o_style", "img_100x100")]
    public void LogitsHiddenStatesAndVisionMatchReference(string variant, string @case)
    {
        using var model = LoadTiny(variant);
        var golden = Path.Combine(Golden.TinyDir(variant), $"{@case}.golden.safetensors");
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var inputs = TinyInputs.Load(variant, @case);
        using var output = model.Forward(inputs, options: new ForwardOptions { KeepIntermediates = true });
        Golden.AssertClose(Golden.Read(golden, "logits"), output.Logits[0], 1e-4, 0, "logits");
        for (int i = 0; i < output.HiddenStates!.Count; i++)
            Golden.AssertClose(Golden.Read(golden, $"hidden_states.{i}"), output.HiddenStates[i][0], 1e-4, 1e-4, $"hidden_states.{i}");
        if (output.Vision is { } v)
        {
            Golden.AssertClose(Golden.Read(golden, "vision.vit_layer0_out"), v.FirstLayer!, 1e-5, 1e-4, "vision.vit_layer0_out");
            Golden.AssertClose(Golden.Read(golden, "vision.vit_layer_last_out"), v.LastLayer!, 1e-5, 1e-4, "vision.vit_layer_last_out");
            Golden.AssertClose(Golden.Read(golden, "vision.encode_image"), v.Encoded!, 1e-5, 1e-4, "vision.encode_image");
            Golden.AssertClose(Golden.Read(golden, "vision.projected"), v.Projected, 1e-5, 1e-4, "vision.projected");
            Golden.AssertClose(Golden.Read(golden, "embeddings.text_only"), output.TextEmbeddings![0], 1e-6, 0, "embeddings.text_only");
        }
    }
}

public class TinyGoldenGreedyTests
{
    [Theory]
    [InlineData("tiny_d_style", "text_only", false)]
    [InlineData("tiny_o_style", "text_only", false)]
    [InlineData("tiny_d_style", "img_100x100", false)]
    [InlineData("tiny_o_style", "img_100x100", true)]
    [InlineData("tiny_d_style", "img_480x640", true)]
    public void GreedyIdsAndStepLogitsMatchReference(string variant, string @case, bool sharded)
    {
        var dir = Golden.TinyDir(variant);
        var cfg = MolmoConfig.Load(dir);
        using var model = new MolmoForCausalLM(cfg, Golden.Float32);
        using (var ck = Checkpoint.Open(sharded ? Path.Combine(dir, "sharded") : dir)) CheckpointLoader.Load(model, ck);
        var expected = Golden.GreedyIds(Path.Combine(dir, $"{@case}.greedy.json"));
        var stepLogits = Golden.Read(Path.Combine(dir, $"{@case}.golden.safetensors"), "greedy.step_logits");
        using var scope = NewDisposeScope();
        var inputs = TinyInputs.Load(variant, @case);
        var gen = new Molmo.Generation.Generator(model, cfg.SpecialTokens!.Eos);
        var tokens = gen.Generate(inputs, new Molmo.Generation.GenerationOptions { MaxNewTokens = expected.Length }, keepLogits: true).ToList();
        Assert.Equal(expected, tokens.Select(t => (long)t.Id).ToArray());
        for (int i = 0; i < tokens.Count; i++)
            Golden.AssertClose(stepLogits[i], tokens[i].Logits!, 1e-4, 0, $"step {i} logits");
    }
}

public class ModelInputValidationTests
{
    [Fact]
    public void ImageIndicesOutsideThePromptOrOfTheWrongShapeAreRefusedByName()
    {
        var dir = Golden.TinyDir("tiny_d_style");
        using var model = new MolmoForCausalLM(MolmoConfig.Load(dir), Golden.Float32);
        using (var ck = Checkpoint.Open(dir)) CheckpointLoader.Load(model, ck);
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var inputs = TinyInputs.Load("tiny_d_style", "img_100x100");
        long s = inputs.InputIds.shape[1];
        // One kept feature placed one past the prompt's last position.
        var pastEnd = inputs.ImageInputIdx!.clone();
        pastEnd.view(-1)[pastEnd.view(-1).argmax()] = tensor(s);
        var e = Assert.Throws<ArgumentException>(() => model.Forward(inputs with { ImageInputIdx = pastEnd }));
        Assert.Contains("image_input_idx points past the end of input_ids", e.Message);
        var flat = inputs.ImageInputIdx!.view(1, -1);
        e = Assert.Throws<ArgumentException>(() => model.Forward(inputs with { ImageInputIdx = flat }));
        Assert.Contains("image_input_idx must be [1, ", e.Message);
        // The inputs themselves are untouched and still run (the last valid position stays within the prompt).
        using var output = model.Forward(inputs, options: new ForwardOptions { AllLogits = false });
        Assert.Equal(new long[] { 1, 1 }, output.Logits.shape[..2]);
        Assert.False(output.Logits.isnan().any().item<bool>());
    }
}

/// <summary>The inputs of a tiny golden case; images come from the preprocessing goldens (same image, same processor).</summary>
internal static class TinyInputs
{
    public static ModelInputs Load(string variant, string @case)
    {
        var path = Path.Combine(Golden.TinyDir(variant), $"{@case}.inputs.safetensors");
        var ids = Golden.Read(path, "input_ids").unsqueeze(0);
        if (!Golden.Has(path, "image_masks")) return new ModelInputs(ids);
        var images = Golden.Read(Path.Combine(TestPaths.Golden, "preprocessing", $"{@case}.safetensors"), "images");
        return new ModelInputs(ids, images.unsqueeze(0), Golden.Read(path, "image_masks").unsqueeze(0), Golden.Read(path, "image_input_idx").unsqueeze(0));
    }
}

/// <summary>A prompt, then the given ids fed back one at a time through the KV cache (teacher forcing).</summary>
internal static class TeacherForced
{
    /// <summary>The last position's float32 logits after the prompt and after each of <c>ids[0 … steps − 2]</c>: steps rows.</summary>
    public static Tensor[] Logits(MolmoForCausalLM model, ModelInputs inputs, long[] ids, int steps)
    {
        using var cache = model.NewCache(1, (int)inputs.InputIds.shape[1] + steps);
        var options = new ForwardOptions { AllLogits = false };
        var logits = new Tensor[steps];
        var step = model.Forward(inputs, cache, options);
        for (int i = 0; i < steps; i++)
        {
            logits[i] = step.Logits[0, -1].to(ScalarType.Float32);
            step.Dispose();
            step = model.Forward(new ModelInputs(tensor(new[] { ids[i] }).view(1, 1)), cache, options);
        }
        step.Dispose();
        return logits;
    }

    /// <summary>
    /// Teacher-forced along the reference's greedy ids of <paramref name="case"/> (a reduced precision can flip the near-ties of
    /// these random models, which would make later steps incomparable): every step's logits within <paramref name="bound"/>
    /// (absolute) of the float32 reference's.
    /// </summary>
    public static void AssertStepsWithin(MolmoForCausalLM model, string variant, string @case, double bound, string what)
    {
        var dir = Golden.TinyDir(variant);
        var expected = Golden.GreedyIds(Path.Combine(dir, $"{@case}.greedy.json"));
        var stepLogits = Golden.Read(Path.Combine(dir, $"{@case}.golden.safetensors"), "greedy.step_logits");
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var logits = Logits(model, TinyInputs.Load(variant, @case), expected, expected.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            var dev = (logits[i].cpu() - stepLogits[i]).abs().max().item<float>();
            Assert.True(dev <= bound, $"step {i}: {what} logits deviate by {dev}");
        }
    }
}
