using Molmo.Checkpoints;
using Molmo.Model;
using static TorchSharp.torch;

namespace Molmo.Tests.Model;

/// <summary>
/// The ViT stops after the deepest block whose output is used: Molmo concatenates the outputs of blocks −2 and −9, so the last
/// block never needs to run (7B-D: 1 of its 23 blocks, about 4 % of the vision encoder's work).
/// </summary>
public class VitEarlyStopTests
{
    [Fact]
    public void OnlyTheBlocksUpToTheDeepestKeptOneRun()
    {
        var cfg = MolmoConfig.Load(Golden.TinyDir("tiny_d_style")).Vision;
        using var vit = new VisionTransformer(cfg, ModelPlacement.CpuFloat32);
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        foreach (var p in vit.parameters()) p.normal_(0, 0.02);
        var patches = randn(1, cfg.NumPos - 1, cfg.PatchPixels);
        int n = cfg.NumLayers;
        var want = vit.Encode(patches, new HashSet<int> { n - 2, n - 9 }).ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        // Poison the last block: running it now fails (its first linear's weight no longer fits the width).
        var last = vit.named_parameters().First(p => p.name.StartsWith($"transformer.resblocks.{n - 1}.", StringComparison.Ordinal)).parameter;
        var saved = last.clone();
        last.set_(zeros(1, 1));
        var outs = vit.Encode(patches, new HashSet<int> { n - 2, n - 9 });   // blocks −2 and −9 only: the last never runs
        Assert.Equal(new[] { n - 9, n - 2 }, outs.Keys.Order());
        foreach (var (layer, t) in outs) Assert.True(t.equal(want[layer]).all().item<bool>());
        Assert.ThrowsAny<Exception>(() => vit.Encode(patches, new HashSet<int> { 0, n - 1 }));   // asked for: it runs
        last.set_(saved);
        Assert.Equal(new[] { 0, n - 1 }, vit.Encode(patches, new HashSet<int> { 0, n - 1 }).Keys.Order());
    }
}
