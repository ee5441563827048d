/*
 * The eeg sample: EEGFormer-style seizure detection, S=81 tokens of E=32, H=8 heads of
 * P=32, two classes (samples/eeg/model). main() is samples/common/src/sample_main.c.
 */
const char tinytx_sample_name[] = "eeg";
