namespace Molmo.Text;

/// <summary>
/// Ids of the tokens Molmo's prompt layout needs (spec §4.1). For 7B-D: BOS = EOS = 151643 (the processor prepends EOS as BOS),
/// &lt;im_start&gt; 152064, &lt;im_end&gt; 152065, &lt;im_patch&gt; 152066, &lt;im_col&gt; 152067, &lt;|image|&gt; 152068.
/// </summary>
public sealed record SpecialTokenIds(int ImStart, int ImEnd, int ImPatch, int ImCol, int Image, int Bos, int Eos);
