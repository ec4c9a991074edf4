namespace Molmo.Synthetic.Clocks;

/// <summary>
/// Where and how the clock sits in the image: centre and face radius in pixels, in-plane rotation, perspective tilt
/// (Skia perspective terms per design unit; ±0.0025 is a strong tilt), drop shadow and Gaussian blur sigma in pixels.
/// </summary>
public sealed record ClockPose(float CenterX, float CenterY, float RadiusPx, float RotationDeg, float TiltX, float TiltY,
    bool Shadow, float BlurSigma, bool Glare);
