"""Co-speech gestures: speech audio (and timed words) in, upper-body motion out, as the audio arrives."""
