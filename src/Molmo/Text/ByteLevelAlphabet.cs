namespace Molmo.Text;

/// <summary>
/// GPT-2 byte-level alphabet: each of the 256 byte values is shown as one printable character, so byte-level BPE
/// vocabularies are plain strings ("Ġ" = byte 0x20, "Ċ" = 0x0A). Printable Latin-1 bytes map to themselves, the other
/// 68 bytes to U+0100 upwards in byte order.
/// </summary>
internal static class ByteLevelAlphabet
{
    static readonly char[] _byteToChar = BuildByteToChar();
    static readonly Dictionary<char, byte> _charToByte = BuildCharToByte();

    public static char ByteToChar(byte b) => _byteToChar[b];

    /// <summary>The byte a vocabulary character stands for, or false when the character is not in the alphabet.</summary>
    public static bool TryCharToByte(char c, out byte b) => _charToByte.TryGetValue(c, out b);

    /// <summary>
    /// The UTF-8 bytes a token stands for. Like the Hugging Face ByteLevel decoder, a token containing any character
    /// outside the alphabet (an added token such as a run of raw spaces) contributes its own UTF-8 bytes instead.
    /// </summary>
    public static byte[] TokenToBytes(string token)
    {
        var bytes = new byte[token.Length];
        for (int i = 0; i < token.Length; i++)
        {
            if (!_charToByte.TryGetValue(token[i], out bytes[i]))
                return System.Text.Encoding.UTF8.GetBytes(token);
        }
        return bytes;
    }

    static char[] BuildByteToChar()
    {
        var map = new char[256];
        int next = 256;
        for (int b = 0; b < 256; b++)
        {
            bool printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            map[b] = printable ? (char)b : (char)next++;
        }
        return map;
    }

    static Dictionary<char, byte> BuildCharToByte()
    {
        var d = new Dictionary<char, byte>(256);
        for (int b = 0; b < 256; b++) d[_byteToChar[b]] = (byte)b;
        return d;
    }
}
