using static TorchSharp.torch;

namespace Molmo.Model;

/// <summary>
/// 2×2 attention pooling with a mean query ("attention-meanq", spec §5.3): each 2×2 window of patch features is pooled by
/// multi-head attention (the checkpoint's <c>image_pooling_2d.wq/wk/wv/wo</c>, 16 heads × 64, float32 q/k/v) whose query is
/// the window's mean and whose keys and values are the window's four patches.
/// </summary>
public static class AttentionPool2x2
{
    /// <summary>features [T, G·G, C] on a G×G patch grid (G even) → [T, (G/2)², out].</summary>
    public static Tensor Forward(MultiHeadDotProductAttention attention, Tensor features)
    {
        using var scope = NewDisposeScope();
        long t = features.shape[0], c = features.shape[2];
        long g = (long)Math.Round(Math.Sqrt(features.shape[1]));
        if (g * g != features.shape[1] || g % 2 != 0)
            throw new ArgumentException($"pooling expects an even square patch grid, got {features.shape[1]} patches");
        long h = g / 2;
        // [T, G, G, C] → windows (wy, wx) holding patches (2wy+a, 2wx+b), (a, b) row-major → [T·h·h, 4, C]
        var windows = features.view(t, h, 2, h, 2, c).permute(0, 1, 3, 2, 4, 5).reshape(t * h * h, 4, c);
        var query = windows.mean([1L], keepdim: true);                                          // [N, 1, C]
        var pooled = attention.Attend(query, windows);                                         // [N, 1, out]
        return pooled.view(t, h * h, -1).MoveToOuterDisposeScope();                           // [T, h², out]
    }
}
