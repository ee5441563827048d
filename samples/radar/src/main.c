/*
 * The radar sample: TinyRadar-style gesture recognition. A convolution frontend reads
 * each range-Doppler frame, a transformer encoder reads the frames as tokens, 11 gesture
 * classes (samples/radar/model). main() is samples/common/src/sample_main.c.
 */
const char tinytx_sample_name[] = "radar";
