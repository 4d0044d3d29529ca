/**
 * @edgeinfer/quantize: float32 ONNX -> int8 ONNX (per-channel int8 weights; static QDQ activations
 * from calibration data, or weights-only "dynamic"), plus the evaluation behind the int8 report.
 */
export { quantizeModel } from './quantize-model.js';
export type { Float32Node, QuantizationMode, QuantizationSummary, QuantizeOptions, QuantizeResult, QuantizedNode } from './quantize-model.js';
export type { CalibrationMethod, Feeds, FloatTensorData } from './calibration.js';
export { quantizePerChannel, uint8Params, INT8_SYMMETRIC_MAX } from './per-channel-quantization.js';
export type { ActivationRange, PerChannelInt8, Uint8Params } from './per-channel-quantization.js';
export { evaluateQuantized } from './evaluation.js';
export type { Evaluation, EvaluationOptions, LatencyComparison, LatencyRuntime } from './evaluation.js';
export { readLabels, readSamples, syntheticSamples, toFeeds } from './sample-data.js';
export type { ImagePreprocessing, SampleSet } from './sample-data.js';
export { createReport, renderMarkdown, writeReport } from './report.js';
export type { QuantizationReport } from './report.js';
export { runCli } from './cli.js';
