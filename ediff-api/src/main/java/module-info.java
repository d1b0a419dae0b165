/**
 * The ediff value types and SPI: requests, generations, experts, samplers, schedules, encoders.
 * No backend types.
 */
module dev.ediff.api {
    requires transitive java.desktop;

    exports dev.ediff.api;

    // Generation.writePngs finds the PNG writer that ediff-core provides
    uses dev.ediff.api.PngWriter;
}
