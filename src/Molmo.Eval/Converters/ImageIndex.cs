namespace Molmo.Eval.Converters;

/// <summary>Finds downloaded PixMo images in a folder by their sha256 (file name without extension) or by the URL's file name.</summary>
internal sealed class ImageIndex
{
    readonly Dictionary<string, string> _byName = new(StringComparer.OrdinalIgnoreCase);

    public ImageIndex(string folder)
    {
        foreach (var f in Directory.EnumerateFiles(folder))
        {
            _byName.TryAdd(Path.GetFileNameWithoutExtension(f), f);
            _byName.TryAdd(Path.GetFileName(f), f);
        }
    }

    public string? Find(string? sha256, string? url)
    {
        if (sha256 != null && _byName.TryGetValue(sha256, out var p)) return p;
        if (url == null) return null;
        var name = Uri.TryCreate(url, UriKind.Absolute, out var u) ? Path.GetFileName(u.LocalPath) : Path.GetFileName(url);
        return name.Length > 0 && _byName.TryGetValue(name, out var q) ? q : null;
    }
}
