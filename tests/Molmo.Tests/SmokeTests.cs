namespace Molmo.Tests; public class SmokeTests { [Fact] public void SharedFolderIsFound() => Assert.True(Directory.Exists(Molmo.TestSupport.TestPaths.Golden)); }
