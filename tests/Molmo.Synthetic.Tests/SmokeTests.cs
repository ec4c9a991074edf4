namespace Molmo.Synthetic.Tests; public class SmokeTests { [Fact] public void Builds() => Assert.NotNull(typeof(Molmo.Synthetic.AssemblyMarker)); }
