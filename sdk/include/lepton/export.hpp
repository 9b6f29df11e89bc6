// Symbol visibility for the SDK: plugins build with hidden visibility, so every SDK type that crosses
// the plugin boundary (vtables, typeinfo for exceptions) must be marked visible explicitly.
#pragma once

#if defined(_WIN32)
#define LEPTON_API __declspec(dllexport)
#else
#define LEPTON_API __attribute__((visibility("default")))
#endif
