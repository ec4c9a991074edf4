namespace Molmo.Data; internal static class AssemblyMarker {}
