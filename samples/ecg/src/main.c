/*
 * The ecg sample: heartbeat classification, S=66 tokens of E=16, H=8 heads of P=2,
 * five classes (samples/ecg/model). main() is samples/common/src/sample_main.c.
 */
const char tinytx_sample_name[] = "ecg";
