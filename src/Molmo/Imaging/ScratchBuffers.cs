using System.Buffers;

namespace Molmo.Imaging;

/// <summary>
/// Reused float32 scratch buffers (resize intermediates, crop canvases) so that repeated preprocessing does not fault in fresh
/// memory for every image. Buffers above 16 M floats (64 MB) are not kept.
/// </summary>
internal static class ScratchBuffers
{
    const int MaxPooledLength = 1 << 24;
    static readonly ArrayPool<float> Pool = ArrayPool<float>.Create(MaxPooledLength, maxArraysPerBucket: 2);

    /// <summary>A buffer of at least <paramref name="length"/> floats (contents undefined).</summary>
    public static float[] Rent(int length) =>
        length <= MaxPooledLength ? Pool.Rent(length) : GC.AllocateUninitializedArray<float>(length);

    /// <summary>Gives back a buffer from <see cref="Rent"/>; it must not be used afterwards.</summary>
    public static void Return(float[] buffer)
    {
        if (buffer.Length <= MaxPooledLength) Pool.Return(buffer);
    }
}
