using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace Molmo.Tests.Imaging;

/// <summary>
/// Test-only PNG helpers independent of SkiaSharp: write chunks with their CRC, and a plain decoder for 8-bit RGB non-interlaced
/// PNGs (zlib + the five scanline filters) used to check the library's decoder byte for byte.
/// </summary>
public static class PngBytes
{
    public static readonly byte[] Signature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    static readonly uint[] CrcTable = BuildCrcTable();

    static uint[] BuildCrcTable()
    {
        var t = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            uint c = n;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            t[n] = c;
        }
        return t;
    }

    public static uint Crc32(ReadOnlySpan<byte> data)
    {
        uint c = 0xFFFFFFFFu;
        foreach (byte b in data) c = CrcTable[(c ^ b) & 0xFF] ^ (c >> 8);
        return c ^ 0xFFFFFFFFu;
    }

    public static byte[] Chunk(string type, ReadOnlySpan<byte> data)
    {
        var buf = new byte[12 + data.Length];
        BinaryPrimitives.WriteUInt32BigEndian(buf, (uint)data.Length);
        Encoding.ASCII.GetBytes(type, buf.AsSpan(4, 4));
        data.CopyTo(buf.AsSpan(8));
        BinaryPrimitives.WriteUInt32BigEndian(buf.AsSpan(8 + data.Length), Crc32(buf.AsSpan(4, 4 + data.Length)));
        return buf;
    }

    /// <summary>A PNG whose header claims <paramref name="width"/> × <paramref name="height"/> RGB, with a tiny (wrong-sized) IDAT.</summary>
    public static byte[] HeaderOnly(int width, int height)
    {
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = 8; // bit depth
        ihdr[9] = 2; // colour type RGB
        var ms = new MemoryStream();
        ms.Write(Signature);
        ms.Write(Chunk("IHDR", ihdr));
        ms.Write(Chunk("IDAT", ZlibCompress(new byte[16])));
        ms.Write(Chunk("IEND", ReadOnlySpan<byte>.Empty));
        return ms.ToArray();
    }

    static byte[] ZlibCompress(byte[] data)
    {
        var ms = new MemoryStream();
        using (var z = new ZLibStream(ms, CompressionLevel.Fastest, leaveOpen: true)) z.Write(data);
        return ms.ToArray();
    }

    /// <summary>Decodes an 8-bit RGB, non-interlaced PNG into H×W×3 bytes.</summary>
    public static (int Width, int Height, byte[] Rgb) DecodeRgb8(byte[] png)
    {
        if (!png.AsSpan(0, 8).SequenceEqual(Signature)) throw new InvalidDataException("not a PNG");
        int pos = 8, width = 0, height = 0;
        var idat = new MemoryStream();
        while (pos < png.Length)
        {
            int len = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(pos));
            string type = Encoding.ASCII.GetString(png, pos + 4, 4);
            var data = png.AsSpan(pos + 8, len);
            if (type == "IHDR")
            {
                width = BinaryPrimitives.ReadInt32BigEndian(data);
                height = BinaryPrimitives.ReadInt32BigEndian(data[4..]);
                if (data[8] != 8 || data[9] != 2 || data[12] != 0) throw new NotSupportedException("test decoder: 8-bit RGB non-interlaced only");
            }
            else if (type == "IDAT") idat.Write(data);
            else if (type == "IEND") break;
            pos += 12 + len;
        }
        idat.Position = 0;
        var raw = new MemoryStream();
        using (var z = new ZLibStream(idat, CompressionMode.Decompress)) z.CopyTo(raw);
        var f = raw.ToArray();
        int stride = width * 3;
        var rgb = new byte[height * stride];
        for (int y = 0; y < height; y++)
        {
            int filter = f[y * (stride + 1)];
            var line = f.AsSpan(y * (stride + 1) + 1, stride);
            var cur = rgb.AsSpan(y * stride, stride);
            var prev = y > 0 ? rgb.AsSpan((y - 1) * stride, stride) : new byte[stride];
            for (int x = 0; x < stride; x++)
            {
                int a = x >= 3 ? cur[x - 3] : 0, b = prev[x], c = x >= 3 ? prev[x - 3] : 0;
                int pred = filter switch
                {
                    0 => 0,
                    1 => a,
                    2 => b,
                    3 => (a + b) / 2,
                    4 => Paeth(a, b, c),
                    _ => throw new InvalidDataException($"bad filter {filter} on row {y}"),
                };
                cur[x] = (byte)(line[x] + pred);
            }
        }
        return (width, height, rgb);
    }

    static int Paeth(int a, int b, int c)
    {
        int p = a + b - c, pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }
}
