namespace Molmo.Text;

/// <summary>A tokenizer file is missing, unreadable or not in a format Molmo understands. <see cref="FilePath"/> names it.</summary>
public sealed class TokenizerLoadException : Exception
{
    public TokenizerLoadException(string filePath, string message, Exception? inner = null)
        : base($"{filePath}: {message}", inner) => FilePath = filePath;

    /// <summary>The file (or folder) that is missing or wrong.</summary>
    public string FilePath { get; }
}
