/** Honest baselines that run offline, with no key and no weights: what a model must beat before its numbers mean anything. */
export { MeanBaseline } from "./mean";
export { ImageStatsBaseline } from "./image-stats";
export { IMAGE_FEATURES, imageFeatures, type ImageFeatureName } from "./image-features";
export { fitRidge, predictRidge, type RidgeModel } from "./ridge";
