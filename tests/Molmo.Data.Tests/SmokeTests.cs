namespace Molmo.Data.Tests; public class SmokeTests { [Fact] public void Builds() => Assert.NotNull(typeof(Molmo.Data.AssemblyMarker)); }
